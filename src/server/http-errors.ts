/**
 * Errors as JSON `{ statusCode, error }`. Request validation names the field and the rule; the
 * gateway's own input errors are meant for the caller already; anything else is a 500 that names the
 * error's class only. Fastify's parser messages are replaced: they quote the body that was sent.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

/** An error whose message is safe to send (it names what is wrong, never a value that was sent). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

const SAFE_GATEWAY_ERRORS: Readonly<Record<string, number>> = {
  LifecycleInputError: 400,
  ActionRefusedError: 409,
  // The head does not verify: no checkpoint vouches for it (the message names positions, never row content).
  CheckpointError: 409,
};

export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const problems = error.validation.map((v) => {
      const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
      return `${error.validationContext ?? 'request'}${path ? `.${path}` : ''}: ${v.message}`;
    });
    void reply.code(400).send({ statusCode: 400, error: `invalid request: ${problems.join('; ')}` });
    return;
  }
  if (error instanceof ApiError) {
    void reply.code(error.statusCode).send({ statusCode: error.statusCode, error: error.message });
    return;
  }
  const gatewayStatus = SAFE_GATEWAY_ERRORS[error.name];
  if (gatewayStatus) {
    void reply.code(gatewayStatus).send({ statusCode: gatewayStatus, error: error.message });
    return;
  }
  const status = error.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    void reply.code(status).send({ statusCode: status, error: `invalid request (${error.code ?? 'bad request'})` });
    return;
  }
  request.log.error(
    { error: { name: error.name, code: error.code }, route: request.routeOptions.url },
    'ops api: failed',
  );
  void reply.code(500).send({ statusCode: 500, error: `internal error (${error.name})` });
}
