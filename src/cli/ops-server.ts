/**
 * The ops server as the CLI runs it (`serve`, `worker --serve`): tokens from PARTNER_GATEWAY_OPS_TOKENS,
 * metrics fed by the gateway's observer, the partners' rate limits for rate use, the url on stdout.
 */
import type { Gateway } from '../gateway.ts';
import type { OpsMetrics, OpsServer } from '../server/index.ts';
import type { CliContext } from './context.ts';
import { CliError } from './errors.ts';
import { line } from './output.ts';
import { packageVersion } from './version.ts';

export interface ServeFlags {
  readonly host: string;
  readonly port: number;
}

/** Loads the server's modules only for the commands that serve, so `--help` stays fast. */
export async function opsMetrics(): Promise<OpsMetrics> {
  const { createOpsMetrics } = await import('../server/index.ts');
  return createOpsMetrics();
}

export async function startOpsServer(
  ctx: CliContext,
  gateway: Gateway,
  metrics: OpsMetrics,
  flags: ServeFlags & { requireWorkers: boolean },
): Promise<{ server: OpsServer; url: string }> {
  const { createOpsServer, parseTokens, OPS_TOKENS_VARIABLE, TokenConfigError } = await import('../server/index.ts');
  let tokens;
  try {
    tokens = parseTokens(process.env[OPS_TOKENS_VARIABLE]);
  } catch (error) {
    if (error instanceof TokenConfigError) throw new CliError(error.message);
    throw error;
  }
  const log = ctx.logger(true);
  if (tokens.length === 0)
    log.warn(`${OPS_TOKENS_VARIABLE} is not set: only /healthz and /readyz will answer (everything else is 401)`);
  const server = await createOpsServer({
    gateway,
    tokens,
    metrics,
    partnerLimits: ctx.partnerLimits(),
    requireWorkers: flags.requireWorkers,
    logger: log,
    version: packageVersion(),
  });
  let url: string;
  try {
    url = await server.listen({ host: flags.host, port: flags.port });
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new CliError(
      `cannot listen on ${flags.host}:${flags.port}${code ? ` (${code})` : ''}: choose another --port or --host`,
    );
  }
  if (ctx.json) await line(JSON.stringify({ url, dashboard: `${url}/dashboard`, openapi: `${url}/openapi.json` }));
  else await line(`ops server on ${url} (dashboard ${url}/dashboard, API ${url}/openapi.json, metrics ${url}/metrics)`);
  return { server, url };
}
