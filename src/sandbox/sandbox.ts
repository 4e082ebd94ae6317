/**
 * The partner sandbox: every partner's emulator on its own loopback port (SDKs are redirected by
 * host:port), with the partners' limits, injected faults, a request log and an inspection port.
 * For the demo, end-to-end tests and benchmarks; never bound beyond 127.0.0.1.
 */
import type { Holding, PartnerEmulator } from '../emulator.ts';
import { specFor, validateFaults, type FaultConfig } from './faults.ts';
import { serveInspection, type Inspectable, type InspectionServer, type PartnerInfo } from './inspect.ts';
import { PartnerLane } from './partner-lane.ts';
import type { RequestLogEntry } from './request-log.ts';
import { serveEmulator, type ServedEmulator } from './serve.ts';
import type { PartnerStats } from './stats.ts';

export interface SandboxOptions {
  /** Constructed by the caller (the sandbox never imports adapters/), one per partner name. */
  readonly emulators: readonly PartnerEmulator[];
  /** Enforce each emulator's documented limits. Default false, so tests run at full speed. */
  readonly limits?: boolean;
  /** Per partner name, or '*' for all. Default: none. */
  readonly faults?: FaultConfig;
  /** Seeds fault and latency draws; the same seed and request order give the same faults. Default 1. */
  readonly seed?: number;
  /**
   * 0 (default): any free ports. Otherwise partner i (in the order given) on portBase + i, and
   * inspection on portBase + emulators.length, so a demo has stable URLs.
   */
  readonly portBase?: number;
  /** Log entries kept per partner (the newest); stats count all. Default 10,000. */
  readonly logLimit?: number;
}

export interface Sandbox extends Inspectable {
  /** Partner name -> http://127.0.0.1:PORT, the base the partner's SDK is redirected to. */
  readonly urls: Readonly<Record<string, string>>;
  readonly inspectUrl: string;
  readonly emulators: Readonly<Record<string, PartnerEmulator>>;
  /** The URL of one partner; throws for a partner that is not served. */
  url(partner: string): string;
  /** Replaces the fault configuration while running (e.g. make one partner flaky mid-test). */
  setFaults(faults: FaultConfig): void;
  /** Closes every port; held and in-flight requests are cut off. */
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const { emulators, limits = false, faults = {}, seed = 1, portBase = 0, logLimit = 10_000 } = options;
  const names = emulators.map((emulator) => emulator.partner);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) throw new RangeError(`two emulators for partner '${duplicate}'`);
  if (!(Number.isInteger(portBase) && portBase >= 0 && portBase + emulators.length <= 65_535)) {
    throw new RangeError(`portBase must be 0 or a port with room for ${emulators.length + 1} ports, got ${portBase}`);
  }
  validateFaults(faults, names);

  const lanes = new Map<string, PartnerLane>();
  for (const emulator of emulators) {
    lanes.set(
      emulator.partner,
      new PartnerLane(emulator, { limits, faults: specFor(faults, emulator.partner), seed, logLimit }),
    );
  }
  const lane = (partner: string): PartnerLane => {
    const found = lanes.get(partner);
    if (found === undefined)
      throw new RangeError(`no partner '${partner}' in the sandbox (served: ${names.join(', ')})`);
    return found;
  };

  const served: ServedEmulator[] = [];
  let inspection: InspectionServer | undefined;
  const closeAll = async (): Promise<void> => {
    await Promise.all([...served.map((one) => one.close()), inspection?.close()]);
  };

  const urls: Record<string, string> = {};
  const inspectable: Inspectable = {
    partners: (): PartnerInfo[] =>
      [...lanes.values()].map((one) => {
        const { perSecond, window, maxConcurrent, counts } = one.emulator.limits;
        const stats = one.stats();
        return {
          partner: one.emulator.partner,
          url: urls[one.emulator.partner] ?? '',
          limits: { perSecond, window, maxConcurrent, counts: counts === undefined ? 'all' : 'filtered' },
          limitsEnforced: one.limitsEnforced,
          faults: one.faults,
          counts: { requests: stats.requests, inFlight: stats.inFlight, holdings: Object.keys(one.holdings()).length },
        };
      }),
    holdings: (partner: string): Record<string, Holding> => lane(partner).holdings(),
    requests: (partner: string, since?: number | Date): RequestLogEntry[] => lane(partner).requests(since),
    stats: (): Record<string, PartnerStats> =>
      Object.fromEntries([...lanes.entries()].map(([partner, one]) => [partner, one.stats()])),
    reset: (): void => {
      for (const one of lanes.values()) one.reset();
    },
  };

  try {
    for (const [index, emulator] of emulators.entries()) {
      const port = portBase === 0 ? 0 : portBase + index;
      const one = await serveEmulator(emulator, port, { handle: lane(emulator.partner).handle });
      served.push(one);
      urls[emulator.partner] = one.url;
    }
    inspection = await serveInspection(inspectable, portBase === 0 ? 0 : portBase + emulators.length);
  } catch (error) {
    await closeAll();
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    ...inspectable,
    urls,
    inspectUrl: inspection.url,
    emulators: Object.fromEntries(emulators.map((emulator) => [emulator.partner, emulator])),
    url: (partner: string): string => {
      lane(partner);
      return urls[partner] as string;
    },
    setFaults: (config: FaultConfig): void => {
      validateFaults(config, names);
      for (const [partner, one] of lanes) one.faults = specFor(config, partner);
    },
    close: () => (closing ??= closeAll()),
  };
}
