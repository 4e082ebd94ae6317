/**
 * Every route says which role it needs (route config `role`): public (health probes and the
 * dashboard's static files, which hold no data), read or operator. No token or a token that matches
 * none is 401; a read token on an operator route is 403. A route that forgot to say needs read.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { allows, tokenChecker, type Caller, type OpsToken, type Role } from './tokens.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    role?: Role | 'public';
  }
  interface FastifyRequest {
    caller: Caller | null;
  }
}

export function registerAuth(app: FastifyInstance, tokens: readonly OpsToken[], logger: Logger | undefined): void {
  const check = tokenChecker(tokens);
  app.decorateRequest('caller', null);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const needed = request.routeOptions.config?.role ?? 'read';
    if (needed === 'public') return;
    const caller = check(request.headers.authorization);
    if (!caller) {
      const sent = request.headers.authorization !== undefined;
      // The token itself is never logged; only that one was refused, and from where.
      if (sent) logger?.warn({ ip: request.ip, route: request.routeOptions.url }, 'ops api: token refused');
      return reply
        .code(401)
        .header('www-authenticate', `Bearer realm="partner-gateway"${sent ? ', error="invalid_token"' : ''}`)
        .send({
          statusCode: 401,
          error: sent
            ? 'the bearer token matches none configured'
            : 'a bearer token is required (Authorization: Bearer <token>)',
        });
    }
    if (!allows(caller, needed)) {
      return reply
        .code(403)
        .send({ statusCode: 403, error: `this needs the operator role; the token of ${caller.name} has role read` });
    }
    request.caller = caller;
  });
}

/** The operator name for the log: the token's, whatever the client claims. */
export function operatorOf(request: FastifyRequest): string {
  if (!request.caller) throw new Error('route without authentication');
  return request.caller.name;
}
