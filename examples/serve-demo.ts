/**
 * `npm start -- --serve`: after the walk-through, keep the gateway and the sandbox up with the ops
 * server, print the dashboard link (with a demo operator token made for this run) and how to point
 * the CLI at it, and wait for Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import type { Gateway } from '../src/index.ts';
import { createOpsServer, type OpsMetrics } from '../src/server/index.ts';

export async function serveUntilStopped(
  gateway: Gateway,
  metrics: OpsMetrics,
  partnerLimits: Readonly<Record<string, { perSecond?: number }>>,
  say: (line?: string) => void,
): Promise<void> {
  const token = randomBytes(24).toString('base64url');
  const readToken = randomBytes(24).toString('base64url');
  await gateway.work({ pollingIntervalSeconds: 0.5 });
  const server = await createOpsServer({
    gateway,
    metrics,
    tokens: [
      { name: 'demo-operator', role: 'operator', token },
      { name: 'demo-read', role: 'read', token: readToken },
    ],
    partnerLimits,
    requireWorkers: true,
    version: 'demo',
  });
  const port = Number(process.env.PARTNER_GATEWAY_OPS_PORT ?? 0);
  const url = await server.listen({ port: Number.isInteger(port) ? port : 0 });
  say(`\n== Ops server (the workers keep running; Ctrl-C stops everything)`);
  say(`  dashboard   ${url}/dashboard#token=${token}`);
  say(`  operator token (demo-operator)  ${token}`);
  say(`  read token (demo-read)          ${readToken}`);
  say(`  API         ${url}/openapi.json   metrics ${url}/metrics   health ${url}/healthz ${url}/readyz`);
  say(`  CLI         export PARTNER_GATEWAY_SERVER_URL=${url} PARTNER_GATEWAY_OPS_TOKEN=${token}`);
  say(`              npx partner-gateway status ; npx partner-gateway dead-letters list`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  say('  stopping: the ops server closes, the workers finish the jobs in hand');
  await server.close();
}
