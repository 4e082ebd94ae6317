import type { PartnerAdapter } from '../adapter.ts';
import type { Holding, PartnerEmulator, PartnerModule } from '../emulator.ts';
import type { FaultConfig, RequestLogEntry } from '../sandbox/index.ts';
import type { HoldingsByPartner } from './holdings.ts';

/**
 * What a host test reads and steers, whichever way the partners are mocked (a loopback sandbox, or
 * nock on the partners' real hosts): the emulators' state is the partners' state.
 */
export interface MockPartners {
  /** The partners mocked, by policy name. */
  readonly partners: readonly string[];
  /**
   * The project's real adapters, pointed at the mocked partners with the sandbox's dummy credentials
   * (the emulators accept no others). Overrides are laid over those options per partner.
   */
  adapters(overrides?: AdapterOverrides): PartnerAdapter[];
  adapter(partner: string, overrides?: Readonly<Record<string, unknown>>): PartnerAdapter;
  /** What one partner holds now, keyed by the partner's own id. */
  holdings(partner: string): Record<string, Holding>;
  /** Every mocked partner's holdings, in the shape assertHoldingsAllowed() takes. */
  allHoldings(): HoldingsByPartner;
  /** The requests one partner received (method, path, status; never a body or query value). */
  requests(partner: string, since?: number | Date): RequestLogEntry[];
  /** The emulator itself, to seed what the partner holds before the test (balena devices, Auth0 users). */
  emulator<E extends PartnerEmulator = PartnerEmulator>(partner: string): E;
  /** Replaces the injected faults (error, timeout and drop rates, latency) per partner or '*'. */
  setFaults(faults: FaultConfig): void;
  /** Empties every partner, its request log and its limits, between tests. */
  reset(): void;
  stop(): Promise<void>;
}

/** Per partner, options laid over the ones that point its adapter at the mock (e.g. timeouts, createUsers). */
export type AdapterOverrides = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** adapters() and adapter() for the modules given, each pointed at the base URL that stands in for it. */
export function adapterFactory(
  modules: readonly PartnerModule<never>[],
  baseUrl: (partner: string) => string,
): Pick<MockPartners, 'adapters' | 'adapter'> {
  const partners = modules.map((m) => m.partner);
  const adapter = (partner: string, overrides: Readonly<Record<string, unknown>> = {}): PartnerAdapter => {
    const m = modules[partners.indexOf(knownPartner(partners, partner))]!;
    return m.createAdapter({ ...(m.sandboxOptions(baseUrl(partner)) as object), ...overrides } as never);
  };
  return {
    adapter,
    adapters: (overrides = {}) => {
      for (const partner of Object.keys(overrides)) knownPartner(partners, partner);
      return partners.map((partner) => adapter(partner, overrides[partner]));
    },
  };
}

/** Checks a partner name up front, so a typo fails with the list of partners rather than deep in a lane. */
export function knownPartner(partners: readonly string[], partner: string): string {
  if (!partners.includes(partner))
    throw new RangeError(`no partner '${partner}' is mocked (mocked: ${partners.join(', ')})`);
  return partner;
}
