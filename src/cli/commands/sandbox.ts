/** `sandbox`: every partner's emulator on loopback, with an inspection endpoint, until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { nonNegativeInt, positiveInt, rate } from '../args.ts';
import { action } from '../action.ts';
import { line, printJson, table } from '../output.ts';

interface SandboxFlags {
  portBase: number;
  limits?: boolean;
  errorRate?: number;
  latencyMs?: number;
  seed: number;
}

export function sandboxCommand(program: Command): void {
  program
    .command('sandbox')
    .description("serve every partner's emulator on 127.0.0.1 (for demos and tests) until SIGINT/SIGTERM")
    .option(
      '--port-base <n>',
      'partner i on port n+i, inspection after them (default: any free ports)',
      nonNegativeInt,
      0,
    )
    .option('--limits', "enforce the partners' documented rate limits")
    .option('--error-rate <r>', 'share of requests answered 503 (0..1)', rate)
    .option('--latency-ms <n>', 'added to every request', nonNegativeInt)
    .option('--seed <n>', 'seeds fault and latency draws', positiveInt, 1)
    .action(
      action(
        async (ctx, flags: SandboxFlags) => {
          const [{ partnerModules }, { startSandbox }] = await Promise.all([
            import('../../../adapters/index.ts'),
            import('../../sandbox/index.ts'),
          ]);
          const fault = {
            ...(flags.errorRate !== undefined ? { errorRate: flags.errorRate } : {}),
            ...(flags.latencyMs !== undefined ? { latencyMs: flags.latencyMs } : {}),
          };
          const sandbox = await startSandbox({
            emulators: partnerModules.map((m) => m.createEmulator()),
            limits: flags.limits === true,
            faults: Object.keys(fault).length > 0 ? { '*': fault } : {},
            seed: flags.seed,
            portBase: flags.portBase,
          });
          const stopped = new Promise<void>((resolve) => {
            process.once('SIGINT', () => resolve());
            process.once('SIGTERM', () => resolve());
          });
          if (ctx.json) await printJson({ inspectUrl: sandbox.inspectUrl, partners: sandbox.urls });
          else {
            await line(table(['partner', 'url'], Object.entries(sandbox.urls)));
            await line();
            await line(
              `inspect  ${sandbox.inspectUrl}  (GET /partners, /partners/{p}/holdings, /partners/{p}/requests, /stats; POST /reset)`,
            );
            await line(
              `use it:  export PARTNER_GATEWAY_SANDBOX_URL=${sandbox.inspectUrl}   (or --sandbox ${sandbox.inspectUrl})`,
            );
            await line('Ctrl-C stops the sandbox');
          }
          await stopped;
          await sandbox.close();
        },
        { handlesSignals: true },
      ),
    );
}
