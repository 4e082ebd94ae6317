import type {
  EmulatorLimits,
  EmulatorRequest,
  EmulatorResponse,
  Holding,
  PartnerEmulator,
} from '../../src/emulator.ts';

export interface FakeOptions {
  readonly partner?: string;
  readonly limits?: EmulatorLimits;
  /** Offer the partner-shaped 503 the sandbox uses for injected errors. */
  readonly unavailable?: boolean;
}

/**
 * A tiny in-memory key-value API standing in for a partner:
 * PUT /kv/{key} {email} -> 201|200, GET /kv/{key} -> 200|404, DELETE /kv/{key} -> 204|404,
 * GET /slow?ms=N answers after N ms.
 */
export class FakeKvEmulator implements PartnerEmulator {
  readonly partner: string;
  readonly limits: EmulatorLimits;
  /** How many requests reached handle(): what the partner saw, as opposed to what the client sent. */
  handled = 0;
  readonly #store = new Map<string, { email: string; version: number }>();

  constructor(options: FakeOptions = {}) {
    this.partner = options.partner ?? 'kv';
    this.limits = options.limits ?? {};
    if (options.unavailable) {
      Object.assign(this, {
        unavailable: (retryAfterSeconds: number): EmulatorResponse => ({
          status: 503,
          headers: { 'retry-after': String(retryAfterSeconds), 'x-kv-error': 'unavailable' },
          body: { error: 'kv_unavailable' },
        }),
      });
    }
  }

  async handle(req: EmulatorRequest): Promise<EmulatorResponse> {
    this.handled += 1;
    if (req.path === '/slow') {
      await new Promise((resolve) => setTimeout(resolve, Number(req.query.get('ms') ?? '100')));
      return { status: 200, body: { slow: true } };
    }
    const match = /^\/kv\/([^/]+)$/.exec(req.path);
    const key = match?.[1];
    if (key === undefined) return { status: 404, body: { error: 'no_route' } };
    const held = this.#store.get(key);
    switch (req.method) {
      case 'PUT': {
        const { email } = JSON.parse(req.body.toString('utf8')) as { email: string };
        this.#store.set(key, { email, version: (held?.version ?? 0) + 1 });
        return { status: held ? 200 : 201, body: { key, version: (held?.version ?? 0) + 1 } };
      }
      case 'GET':
        return held ? { status: 200, body: { key, email: held.email } } : { status: 404, body: { error: 'not_found' } };
      case 'DELETE':
        return this.#store.delete(key) ? { status: 204 } : { status: 404, body: { error: 'not_found' } };
      default:
        return { status: 405, body: { error: 'method_not_allowed' } };
    }
  }

  rateLimited(retryAfterSeconds: number): EmulatorResponse {
    return {
      status: 429,
      headers: { 'retry-after': String(retryAfterSeconds), 'x-kv-error': 'rate_limited' },
      body: { error: 'kv_rate_limited' },
    };
  }

  holdings(): Record<string, Holding> {
    return Object.fromEntries(
      [...this.#store].map(([key, { email, version }]) => [key, { personal: { email }, meta: { version } }]),
    );
  }

  reset(): void {
    this.#store.clear();
    this.handled = 0;
  }
}
