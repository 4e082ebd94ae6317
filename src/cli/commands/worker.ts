/** `worker`: works every partner queue until SIGTERM/SIGINT; erasures that fall due are started every minute. */
import type { Command } from 'commander';
import { positiveInt } from '../args.ts';
import { action } from '../action.ts';
import { opsMetrics, startOpsServer } from '../ops-server.ts';
import { serveOptions } from '../serve-options.ts';

const MINUTE = 60_000;

export function workerCommand(program: Command): void {
  serveOptions(
    program
      .command('worker')
      .description(
        'work the partner queues until SIGTERM/SIGINT (then finish the jobs in hand and exit 0); start due erasures every minute',
      )
      .option('--poll <seconds>', 'queue polling interval', positiveInt, 2)
      .option('--serve', 'also run the ops server (health, metrics, JSON API, dashboard) in this process'),
    8080,
  ).action(
    action(
      async (ctx, flags: { poll: number; serve?: boolean; host: string; port: number }) => {
        const metrics = flags.serve ? await opsMetrics() : undefined;
        const gateway = await ctx.gateway({
          partners: true,
          service: true,
          ...(metrics ? { observer: metrics.observer } : {}),
        });
        const log = ctx.logger(true);
        const stopped = new Promise<NodeJS.Signals>((resolve) => {
          process.once('SIGTERM', () => resolve('SIGTERM'));
          process.once('SIGINT', () => resolve('SIGINT'));
        });
        const dueErasures = async () => {
          try {
            const started = await gateway.processDueErasures();
            if (started > 0) log.info({ started }, 'due erasures started');
          } catch (error) {
            log.error(
              { err: { message: error instanceof Error ? error.message : String(error) } },
              'due erasures failed',
            );
          }
        };
        await gateway.work({ pollingIntervalSeconds: flags.poll });
        const partners = (await gateway.status()).partners.map((p) => p.partner);
        const served = metrics
          ? await startOpsServer(ctx, gateway, metrics, { host: flags.host, port: flags.port, requireWorkers: true })
          : undefined;
        log.info({ partners, operator: ctx.operator }, 'worker started');
        await dueErasures();
        const timer = setInterval(() => void dueErasures(), MINUTE);
        const signal = await stopped;
        clearInterval(timer);
        // A second signal while draining exits at once.
        const force = () => process.exit(signal === 'SIGINT' ? 130 : 143);
        process.once('SIGTERM', force);
        process.once('SIGINT', force);
        log.info({ signal }, 'stopping: finishing the jobs in hand');
        await served?.server.close();
        await ctx.close();
        log.info('worker stopped');
      },
      { handlesSignals: true },
    ),
  );
}
