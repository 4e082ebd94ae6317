/** /healthz (the process answers), /readyz (database, migrations, workers) and /metrics (Prometheus). */
import type { FastifyInstance } from 'fastify';
import type { OpsMetrics } from './metrics.ts';
import type { OpsGateway } from './ops-gateway.ts';

export function registerProbeRoutes(
  app: FastifyInstance,
  deps: { gateway: OpsGateway; metrics: OpsMetrics; requireWorkers: boolean },
): void {
  app.get(
    '/healthz',
    { config: { role: 'public' }, schema: { tags: ['probes'], summary: 'The process is up', security: [] } },
    async () => ({ ok: true }),
  );

  app.get(
    '/readyz',
    {
      config: { role: 'public' },
      schema: {
        tags: ['probes'],
        summary: 'Ready: the database answers, its migrations are current, the queues are worked (503 otherwise)',
        security: [],
      },
    },
    async (_request, reply) => {
      const health = await deps.gateway.health().catch(() => undefined);
      const problems: string[] = [];
      if (!health) problems.push('the gateway does not answer');
      else {
        if (health.stopped) problems.push('the gateway is stopped');
        if (!health.database) problems.push('the database does not answer');
        else if (health.migrations.applied < health.migrations.expected)
          problems.push(`migrations: ${health.migrations.applied} of ${health.migrations.expected} applied`);
        if (deps.requireWorkers && health.working.length === 0) problems.push('no partner queue is worked');
      }
      return reply.code(problems.length === 0 ? 200 : 503).send({
        ready: problems.length === 0,
        problems,
        ...(health ? { migrations: health.migrations, working: health.working } : {}),
      });
    },
  );

  app.get(
    '/metrics',
    { config: { role: 'read' }, schema: { tags: ['probes'], summary: 'Prometheus metrics (text format)' } },
    async (_request, reply) => {
      const text = await deps.metrics.scrape();
      return reply.type(deps.metrics.registry.contentType).send(text);
    },
  );
}
