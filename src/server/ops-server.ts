/**
 * The ops server: health and readiness probes, Prometheus metrics, a JSON API for what the CLI does
 * (described by the OpenAPI document it serves at /openapi.json) and the dashboard. It depends on the
 * public Gateway interface only, so a host can mount it in its own process:
 *
 *   const metrics = createOpsMetrics();
 *   const gateway = await createGateway({ ...options, observer: metrics.observer });
 *   const server = await createOpsServer({ gateway, metrics, tokens: parseTokens(process.env.PARTNER_GATEWAY_OPS_TOKENS) });
 *   await server.listen({ port: 8080 });          // or: httpServer.on('request', server.routing)
 *
 * Fastify: schema-first routes (zod via fastify-type-provider-zod, which also feeds @fastify/swagger's
 * OpenAPI document), `inject` for tests without sockets, and pino logging as the rest of the gateway.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { registerApiRoutes } from './api-routes.ts';
import { registerAuth } from './auth.ts';
import { registerDashboardRoutes } from './dashboard-routes.ts';
import { handleError } from './http-errors.ts';
import { createOpsMetrics, type OpsMetrics } from './metrics.ts';
import type { OpsGateway } from './ops-gateway.ts';
import { registerProbeRoutes } from './probe-routes.ts';
import type { OpsToken } from './tokens.ts';

export type { OpsGateway } from './ops-gateway.ts';

export interface OpsServerOptions {
  readonly gateway: OpsGateway;
  /** Who may call the API; with none, only /healthz and /readyz answer (everything else is 401). */
  readonly tokens: readonly OpsToken[];
  /** The metrics whose observer the gateway was created with; default: gauges only (no call counters). */
  readonly metrics?: OpsMetrics;
  /** The partners' effective rate limits (calls per second), for rate use on the dashboard. */
  readonly partnerLimits?: Readonly<Record<string, { readonly perSecond?: number | undefined }>>;
  /** Readiness also requires workers running in this process (`worker --serve`). Default: false. */
  readonly requireWorkers?: boolean;
  /** Server log (pino): state changes with the operator, refused tokens. Default: silent. */
  readonly logger?: Logger;
  /** Version shown in /openapi.json and on the dashboard. */
  readonly version?: string;
}

export interface OpsServer {
  readonly app: FastifyInstance;
  readonly metrics: OpsMetrics;
  /** Listens (default 127.0.0.1, a free port) and returns the base url, e.g. http://127.0.0.1:8080. */
  listen(options?: { host?: string; port?: number }): Promise<string>;
  /** A Node request listener, for mounting in the host's own http server. */
  readonly routing: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

export async function createOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const metrics = options.metrics ?? createOpsMetrics();
  metrics.bind(options.gateway);
  // Typed as the plain instance the route modules take; each adds the zod type provider itself.
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger as FastifyBaseLogger } : { logger: false }),
    // Request lines would name every subject looked at; the API logs what changed, with who did it.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1_048_576,
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'partner-gateway ops API',
        version: options.version ?? '0',
        description:
          'Status, dead letters, erasures, resync, subject rights and the transfer log of a partner-gateway. ' +
          'Bearer tokens (PARTNER_GATEWAY_OPS_TOKENS) with role read (status, metrics, audit) or operator ' +
          '(everything that changes state or shows personal data). Every state change is logged with the token name.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'probes', description: 'Health, readiness and metrics' },
        { name: 'queues', description: 'Queues and dead letters' },
        { name: 'subjects', description: 'Data-subject rights (operator)' },
        { name: 'audit', description: 'The transfer log' },
      ],
    },
    transform: jsonSchemaTransform,
  });
  registerAuth(app, options.tokens, options.logger);
  registerProbeRoutes(app, { gateway: options.gateway, metrics, requireWorkers: options.requireWorkers === true });
  registerApiRoutes(app, {
    gateway: options.gateway,
    metrics,
    partnerLimits: options.partnerLimits ?? {},
    version: options.version ?? '0',
  });
  registerDashboardRoutes(app);
  app.get('/openapi.json', { schema: { hide: true }, config: { role: 'read' } }, async () => app.swagger());
  await app.ready();

  return {
    app,
    metrics,
    listen: async ({ host = '127.0.0.1', port = 0 } = {}) => {
      await app.listen({ host, port });
      const address = app.server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      return `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
    },
    routing: (req, res) => app.routing(req, res),
    close: () => app.close(),
  };
}
