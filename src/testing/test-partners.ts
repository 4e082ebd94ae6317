import { partnerModule, partnerModules } from '../../adapters/index.ts';
import type { PartnerEmulator, PartnerModule } from '../emulator.ts';
import { startSandbox, type FaultConfig } from '../sandbox/index.ts';
import { adapterFactory, knownPartner, type MockPartners } from './inspection.ts';

export interface TestPartnersOptions {
  /** Partners to serve, by policy name. Default: every partner this project ships. */
  readonly partners?: readonly string[];
  /** Enforce each partner's documented rate and concurrency limits. Default false: tests run at full speed. */
  readonly limits?: boolean;
  /** Injected errors, timeouts, drops and latency, per partner or '*'. Default: none. */
  readonly faults?: FaultConfig;
  /** Seeds the fault draws, so a flaky run repeats exactly. Default 1. */
  readonly seed?: number;
  /**
   * Partner modules of your own (adapter and emulator, see "Writing your own adapter"), served
   * beside the shipped partners named in `partners`. A module named like a shipped one replaces it.
   */
  readonly modules?: readonly PartnerModule<unknown>[];
}

export interface TestPartners extends MockPartners {
  /** Partner name -> http://127.0.0.1:PORT its emulator is served at. */
  readonly urls: Readonly<Record<string, string>>;
  /** The URL of the inspection API (GET /partners/{p}/holdings ...), for tests in another process. */
  readonly inspectUrl: string;
}

/**
 * Every partner's emulator on loopback, in this process: hand `adapters()` to createGateway() and
 * assert what each partner holds afterwards. The real adapters run unchanged (SDKs, retries, error
 * classification), so a test exercises the same code production does, short of the network.
 * Under nock's disableNetConnect, allow loopback: nock.enableNetConnect('127.0.0.1').
 */
export async function startTestPartners(options: TestPartnersOptions = {}): Promise<TestPartners> {
  const modules = selectModules(options.partners, options.modules);
  const partners = modules.map((m) => m.partner);
  const sandbox = await startSandbox({
    emulators: modules.map((m) => m.createEmulator()),
    limits: options.limits ?? false,
    ...(options.faults ? { faults: options.faults } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  });
  return {
    partners,
    urls: sandbox.urls,
    inspectUrl: sandbox.inspectUrl,
    ...adapterFactory(modules, (partner) => sandbox.url(partner)),
    holdings: (partner) => sandbox.holdings(knownPartner(partners, partner)),
    allHoldings: () => Object.fromEntries(partners.map((partner) => [partner, sandbox.holdings(partner)])),
    requests: (partner, since) => sandbox.requests(knownPartner(partners, partner), since),
    emulator: <E extends PartnerEmulator>(partner: string) => sandbox.emulators[knownPartner(partners, partner)] as E,
    setFaults: (faults) => sandbox.setFaults(faults),
    reset: () => sandbox.reset(),
    stop: () => sandbox.close(),
  };
}

/**
 * The partner modules named, in the order given (every shipped one by default), then the host's own
 * modules; a host module replaces a shipped one of the same name.
 */
export function selectModules(
  names?: readonly string[],
  own: readonly PartnerModule<unknown>[] = [],
): PartnerModule<never>[] {
  const ownNames = new Set(own.map((m) => m.partner));
  if (ownNames.size !== own.length) throw new Error('two partner modules of your own have the same name');
  const shipped = names === undefined ? partnerModules.map((m) => m.partner) : [...new Set(names)];
  return [
    ...shipped.filter((name) => !ownNames.has(name)).map((name) => partnerModule(name)),
    ...(own as PartnerModule<never>[]),
  ];
}
