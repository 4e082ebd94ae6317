/** `serve`: the ops server (health, metrics, JSON API, dashboard) until SIGTERM/SIGINT, without workers. */
import type { Command } from 'commander';
import { action } from '../action.ts';
import { opsMetrics, startOpsServer, type ServeFlags } from '../ops-server.ts';
import { serveOptions } from '../serve-options.ts';

export function serveCommand(program: Command): void {
  serveOptions(
    program
      .command('serve')
      .description(
        'run the ops server (health, metrics, JSON API, dashboard) until SIGTERM/SIGINT; jobs are left to workers (on the embedded store use worker --serve)',
      ),
    8080,
  ).action(
    action(
      async (ctx, flags: ServeFlags) => {
        const metrics = await opsMetrics();
        const gateway = await ctx.gateway({ partners: true, service: true, observer: metrics.observer });
        const stopped = new Promise<void>((resolve) => {
          process.once('SIGTERM', () => resolve());
          process.once('SIGINT', () => resolve());
        });
        const { server } = await startOpsServer(ctx, gateway, metrics, { ...flags, requireWorkers: false });
        if (gateway.database.engine !== 'postgres')
          ctx
            .logger(true)
            .warn(
              'the embedded store is held by this process and no worker runs here: use worker --serve to work the queues',
            );
        await stopped;
        await server.close();
      },
      { handlesSignals: true },
    ),
  );
}
