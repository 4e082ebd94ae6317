import type { EmulatorRequest, EmulatorResponse, PartnerEmulator, PartnerModule } from '../emulator.ts';
import { specFor, validateFaults, type FaultConfig } from '../sandbox/faults.ts';
import { PartnerLane } from '../sandbox/partner-lane.ts';
import { adapterFactory, knownPartner, type MockPartners } from './inspection.ts';
import { selectModules } from './test-partners.ts';

export interface NockPartnersOptions {
  /**
   * Partner name -> the base URL its adapter uses in the host's own configuration (what the adapter's
   * `baseUrl` option would be, e.g. https://api.stripe.com, https://your-tenant.eu.auth0.com,
   * https://us21.api.mailchimp.com). Only these partners are mocked: the host states which hosts it
   * talks to, so this module needs no partner's API knowledge.
   */
  readonly baseUrls: Readonly<Record<string, string>>;
  readonly limits?: boolean;
  readonly faults?: FaultConfig;
  readonly seed?: number;
  /** Partner modules of your own, mocked like the shipped ones; each needs its entry in baseUrls. */
  readonly modules?: readonly PartnerModule<unknown>[];
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;

/**
 * nock interceptors on each partner's real host that answer from the in-process emulators, for hosts
 * whose tests keep the production base URLs and nock's disableNetConnect (no loopback port). Take the
 * adapters from the handle: the emulators accept only the sandbox's dummy credentials, so an adapter
 * built with other ones is refused with a 401, as the real partner would refuse it.
 * Interceptors are optional (a partner never called leaves nothing pending) and persist until stop();
 * a host that calls nock.cleanAll() between tests removes them too, so start this in beforeEach.
 * nock (15) must be installed: it is an optional peer dependency.
 */
export async function mockPartnersWithNock(options: NockPartnersOptions): Promise<MockPartners> {
  const nock = await loadNock();
  const own = options.modules ?? [];
  for (const m of own)
    if (!options.baseUrls[m.partner]) throw new Error(`mockPartnersWithNock: no baseUrls entry for ${m.partner}`);
  const modules = selectModules(Object.keys(options.baseUrls), own);
  const partners = modules.map((m) => m.partner);
  const faults = options.faults ?? {};
  validateFaults(faults, partners);
  const stopping = new AbortController();
  const lanes = new Map<string, PartnerLane>();
  const interceptors: ReturnType<ReturnType<typeof nock>['intercept']>[] = [];

  for (const m of modules) {
    const emulator = m.createEmulator();
    const lane = new PartnerLane(emulator, {
      limits: options.limits ?? false,
      faults: specFor(faults, m.partner),
      seed: options.seed ?? 1,
      logLimit: 10_000,
    });
    lanes.set(m.partner, lane);
    const base = new URL(options.baseUrls[m.partner]!);
    const prefix = base.pathname.replace(/\/+$/, '');
    const scope = nock(base.origin).persist();
    for (const method of METHODS) {
      const interceptor = scope
        .intercept((path) => prefix === '' || path === prefix || path.startsWith(`${prefix}/`), method)
        .optionally();
      interceptors.push(interceptor);
      interceptor.reply(async (request: Request) => {
        const signal = AbortSignal.any([request.signal, stopping.signal]);
        const disposition = await lane.handle(await toEmulatorRequest(request, prefix), { signal });
        if (disposition.kind === 'drop') throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        return toNockReply(disposition.response);
      });
    }
  }

  const lane = (partner: string): PartnerLane => lanes.get(knownPartner(partners, partner))!;
  return {
    partners,
    ...adapterFactory(modules, (partner) => options.baseUrls[partner]!),
    holdings: (partner) => lane(partner).holdings(),
    allHoldings: () => Object.fromEntries(partners.map((partner) => [partner, lane(partner).holdings()])),
    requests: (partner, since) => lane(partner).requests(since),
    emulator: <E extends PartnerEmulator>(partner: string) => lane(partner).emulator as E,
    setFaults: (config) => {
      validateFaults(config, partners);
      for (const [partner, one] of lanes) one.faults = specFor(config, partner);
    },
    reset: () => {
      for (const one of lanes.values()) one.reset();
    },
    stop: async () => {
      stopping.abort();
      for (const interceptor of interceptors) nock.removeInterceptor(interceptor);
    },
  };
}

// eslint-disable-next-line @typescript-eslint/consistent-type-imports -- nock is an optional peer: a type-only reference, loaded lazily below
async function loadNock(): Promise<typeof import('nock').default> {
  try {
    return (await import('nock')).default;
  } catch {
    throw new Error(
      'mockPartnersWithNock needs nock: npm install --save-dev nock (or use startTestPartners, which needs nothing)',
    );
  }
}

async function toEmulatorRequest(request: Request, prefix: string): Promise<EmulatorRequest> {
  const url = new URL(request.url);
  return {
    method: request.method,
    path: url.pathname.slice(prefix.length) || '/',
    query: url.searchParams,
    headers: Object.fromEntries(request.headers),
    body: Buffer.from(await request.clone().arrayBuffer()),
  };
}

/** As the sandbox writes a response: an object goes as JSON unless the emulator set its own type. */
function toNockReply(response: EmulatorResponse): [number, string | Buffer, Record<string, string>] {
  const headers: Record<string, string> = { ...(response.headers ?? {}) };
  const { body } = response;
  if (body === undefined) return [response.status, '', headers];
  if (typeof body === 'string' || Buffer.isBuffer(body)) return [response.status, body, headers];
  if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type'))
    headers['content-type'] = 'application/json';
  return [response.status, JSON.stringify(body), headers];
}
