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
  const modules = selectModules(options.partners);
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

/** The shipped partner modules named, in the order given; all of them by default. */
export function selectModules(names?: readonly string[]): PartnerModule<never>[] {
  return names === undefined ? [...partnerModules] : [...new Set(names)].map((name) => partnerModule(name));
}
