/**
 * Part 2, limit fidelity: the sandbox enforces each partner's documented limits (answering with the
 * partner's own 429) and the gateway keeps to the limits it was given. Every partner runs at once in
 * one window of about LIMIT_SECONDS: each sync partner gets as many jobs as its limit allows in that
 * time, Twilio gets sequential alarm calls for that long, Mailchimp gets a burst of consent
 * withdrawals (suppress calls, which go one per call, so concurrency shows).
 *
 * Two variants: 'declared' keeps only the limits the adapters declare (what a host gets by default);
 * 'documented' has the host configure the partners' documented limits (Stripe 25/s test mode, Auth0
 * 2/s free plan, Twilio 1 call/s, Mailchimp 10 connections) for the adapters that declare other
 * limits, and is skipped when there are none.
 */
import { partnerModules } from '../adapters/index.ts';
import type { EmulatorRequest } from '../src/emulator.ts';
import { createGateway } from '../src/gateway.ts';
import type { PartnerLimits } from '../src/transfer/rate-limit.ts';
import type { RequestLogEntry } from '../src/sandbox/index.ts';
import {
  SECRETS,
  benchSandbox,
  benchSource,
  count,
  freshEngine,
  pool,
  quietLogger,
  round,
  sandboxAdapters,
  setting,
  sleep,
  subjectId,
  type Engine,
} from './common.ts';

export const LIMIT_SECONDS = setting('BENCH_LIMIT_SECONDS', 8);
/** Mean partner latency in this part (uniform in [L/2, 3L/2]), so requests overlap as with real partners. */
export const INTERCOM_SECONDS = setting('BENCH_LIMIT_INTERCOM_SECONDS', 20);
export const LATENCY_MS = setting('BENCH_LIMIT_LATENCY_MS', 40);
const MAILCHIMP_WITHDRAWALS = count('BENCH_LIMIT_MAILCHIMP', 300);

/** The partners' documented limits, as the sandbox enforces them (a rate per second for the rows). */
export const DOCUMENTED: Readonly<
  Record<string, { perSecond?: number; maxConcurrent?: number; window?: { ms: number; max: number }; note: string }>
> = {
  stripe: { perSecond: 25, note: '25/s (test mode)' },
  intercom: {
    perSecond: 10_000 / 60,
    window: { ms: 10_000, max: Math.ceil(10_000 / 6) },
    note: '1,667 per 10 s window (10,000/min)',
  },
  elogistik: { perSecond: 50, note: '50/s' },
  auth0: { perSecond: 2, note: '2/s (free plan, Management API)' },
  twilio: { perSecond: 1, note: '1 call/s' },
  mailchimp: { maxConcurrent: 10, note: '10 concurrent connections' },
};

const HOST_CONFIGURED: Readonly<Record<string, PartnerLimits>> = {
  stripe: { perSecond: 25 },
  auth0: { perSecond: 2 },
  twilio: { perSecond: 1 },
  mailchimp: { maxConcurrent: 10 },
};

export type LimitVariant = 'declared' | 'documented';

export interface PartnerFidelity {
  readonly partner: string;
  readonly limit: string;
  /** What the gateway was keeping to for this partner. */
  readonly gatewayLimit: string;
  readonly requests: number;
  readonly accepted: number;
  readonly tooMany: number;
  readonly tooManyShare: number;
  readonly windowSeconds: number;
  /** Accepted requests per second from 1 s after the first request to the end of the planned run. */
  readonly steadyPerSecond: number | null;
  /** Share of the limit: steady rate / rate; for a window limit, the fullest whole window's accepted / max. */
  readonly rateShare: number | null;
  /** Window limits: accepted requests in the fullest whole window inside the run. */
  readonly fullestWindow: number | null;
  readonly peakConcurrency: number;
  readonly maxConcurrent: number | null;
}

export interface LimitsResult {
  readonly variant: LimitVariant;
  readonly seconds: number;
  readonly partners: readonly PartnerFidelity[];
  /** Mailchimp members whose withdrawal took effect (suppressed), of `withdrawals`. */
  readonly suppressed: number;
  readonly withdrawals: number;
  /** Set when the variant had nothing to measure. */
  readonly skipped?: string;
}

/** The limits each adapter declares (adapters made with sandbox options; nothing is called). */
export function declaredLimits(): Record<string, PartnerLimits | undefined> {
  return Object.fromEntries(
    partnerModules.map((m) => [m.partner, m.createAdapter(m.sandboxOptions('http://127.0.0.1:9')).limits]),
  );
}

/** Partners whose adapters declare other limits than the documented ones. */
export function undeclared(): string[] {
  const declared = declaredLimits();
  return Object.entries(HOST_CONFIGURED)
    .filter(
      ([p, want]) => declared[p]?.perSecond !== want.perSecond || declared[p]?.maxConcurrent !== want.maxConcurrent,
    )
    .map(([p]) => p);
}

export async function limitFidelity(engine: Engine, variant: LimitVariant): Promise<LimitsResult> {
  const D = LIMIT_SECONDS;
  // The documented variant runs only the partners whose adapters declare other limits than the
  // documented ones (the host configures those); the others would repeat the declared run.
  const measured = variant === 'declared' ? Object.keys(DOCUMENTED) : undeclared();
  if (measured.length === 0)
    return {
      variant,
      seconds: 0,
      partners: [],
      suppressed: 0,
      withdrawals: 0,
      skipped: 'every adapter declares the documented limits',
    };
  const jobsFor = (p: string, seconds = D) =>
    measured.includes(p) ? Math.max(2, Math.round(DOCUMENTED[p]!.perSecond! * seconds)) : 0;
  // Intercom's limit is a 10-second window: its run spans two, so one whole window is inside it.
  const plan = {
    elogistik: jobsFor('elogistik'),
    stripe: jobsFor('stripe'),
    intercom: jobsFor('intercom', INTERCOM_SECONDS),
    auth0: jobsFor('auth0'),
  };
  // Subject ranges: each partner its own, so partner state never overlaps.
  const ranges: Record<string, [number, number]> = {};
  let next = 1;
  for (const [p, n] of [
    ...Object.entries(plan),
    ['twilio', 10_000] as const,
    ['mailchimp', MAILCHIMP_WITHDRAWALS] as const,
    ['warm-up', 1] as const,
  ]) {
    ranges[p] = [next, n];
    next += n;
  }
  const sandbox = await benchSandbox(
    true,
    LATENCY_MS > 0 ? { '*': { latencyMs: { min: LATENCY_MS / 2, max: (LATENCY_MS * 3) / 2 } } } : {},
  );
  const emulators = Object.fromEntries(partnerModules.map((m) => [m.partner, m.createEmulator()]));
  const store = freshEngine(engine);
  const adapters = sandboxAdapters(sandbox);
  const gateway = await createGateway({
    database: store.database,
    adapters,
    source: benchSource(1, next),
    secrets: SECRETS,
    ...(variant === 'documented' ? { limits: Object.fromEntries(measured.map((p) => [p, HOST_CONFIGURED[p]!])) } : {}),
    logger: quietLogger(),
  });
  const ids = (p: string) => Array.from({ length: ranges[p]![1] }, (_, i) => subjectId(ranges[p]![0] + i));
  try {
    // Mailchimp set-up (outside the window): consented members, subscribed in batch calls.
    const members = ids('mailchimp');
    await pool(members, 8, async (id) => void (await gateway.consent.grant(id, 'marketing', { source: 'bench' })));
    await gateway.runUntilIdle({ timeoutMs: 120_000 });
    // Warm-up (a long-running gateway has warm clients): one subject synced everywhere, one alarm call.
    const [warm] = ids('warm-up');
    await gateway.resync({ subjects: [warm!], operator: 'bench' });
    await gateway.runUntilIdle({ timeoutMs: 60_000 });
    await gateway.call(warm!, 'alarm', { twiml: '<Response><Say>Bench</Say></Response>' });
    await sleep(1_500); // let the sandbox's buckets refill
    const mark = new Date();

    // The window: jobs for the sync partners, withdrawals for Mailchimp, then work them off while
    // Twilio gets sequential alarm calls.
    for (const p of ['elogistik', 'stripe', 'intercom', 'auth0'])
      if (ids(p).length > 0) await gateway.resync({ partner: p, subjects: ids(p), operator: 'bench' });
    for (const id of members) await gateway.consent.withdraw(id, 'marketing', { source: 'bench' });
    const started = performance.now();
    const twilioIds = ids('twilio');
    const twilio = (async () => {
      let i = 0;
      const until = performance.now() + D * 1_000;
      while (performance.now() < until && i < twilioIds.length) {
        await gateway
          .call(twilioIds[i++]!, 'alarm', { twiml: '<Response><Say>Bench</Say></Response>' })
          .catch(() => undefined);
      }
    })();
    await Promise.all([gateway.runUntilIdle({ timeoutMs: Math.max(D, INTERCOM_SECONDS) * 4_000 }), twilio]);
    const seconds = (performance.now() - started) / 1000;

    const stats = await sandbox.stats();
    const [{ suppressed } = { suppressed: 0 }] = await gateway.database.query<{ suppressed: number }>(
      `select count(*)::int as suppressed from links where partner = 'mailchimp' and suppressed`,
    );
    const logs = Object.fromEntries(
      await Promise.all(measured.map(async (p) => [p, await sandbox.requests(p, mark)] as const)),
    );
    const partners = measured.map((p): PartnerFidelity => {
      // Only the requests the partner's limit counts (Auth0: the Management API; Twilio: placing calls).
      const counts = emulators[p]!.limits.counts;
      const entries = logs[p]!.filter((e) => counts === undefined || counts(asRequest(e)));
      const doc = DOCUMENTED[p]!;
      const gw = gatewayLimitOf(p, variant, adapters.find((a) => a.partner === p)?.limits);
      const accepted = entries.filter((e) => e.status !== null && e.status !== 429);
      const tooMany = entries.filter((e) => e.status === 429).length;
      const times = entries.map((e) => Date.parse(e.time)).sort((a, b) => a - b);
      const windowSeconds = times.length > 1 ? (times.at(-1)! - times[0]!) / 1000 : 0;
      const steady =
        doc.perSecond !== undefined
          ? achievedRate(
              accepted.map((e) => Date.parse(e.time)),
              times[0],
              p === 'intercom' ? INTERCOM_SECONDS : D,
            )
          : null;
      const windowed = doc.window
        ? fullestWindow(
            accepted.map((e) => Date.parse(e.time)),
            doc.window.ms,
          )
        : null;
      return {
        partner: p,
        limit: doc.note,
        gatewayLimit: gw,
        requests: entries.length,
        accepted: accepted.length,
        tooMany,
        tooManyShare: entries.length === 0 ? 0 : round((100 * tooMany) / entries.length, 2),
        windowSeconds: round(windowSeconds, 2),
        steadyPerSecond: steady === null ? null : round(steady, 2),
        rateShare:
          doc.window && windowed !== null
            ? round((100 * windowed) / doc.window.max, 1)
            : steady === null || doc.perSecond === undefined
              ? null
              : round((100 * steady) / doc.perSecond, 1),
        fullestWindow: windowed,
        peakConcurrency: stats[p]?.peakConcurrency ?? 0,
        maxConcurrent: doc.maxConcurrent ?? null,
      };
    });
    return { variant, seconds: round(seconds, 2), partners, suppressed, withdrawals: members.length };
  } finally {
    await gateway.stop();
    await store.cleanup();
    await sandbox.close();
  }
}

/**
 * Accepted requests per second while the partner had work for the whole run: from 1 s after the
 * first request (the partners allow one second's worth as a burst) to D s after it (the workload is
 * sized to last D s at the limit), so retries that come back after their backoff do not dilute it.
 * Null when there was no request.
 */
function achievedRate(
  acceptedTimes: readonly number[],
  firstRequest: number | undefined,
  seconds: number,
): number | null {
  if (firstRequest === undefined || seconds <= 1) return null;
  const from = firstRequest + 1_000;
  const to = firstRequest + seconds * 1_000;
  return acceptedTimes.filter((t) => t >= from && t < to).length / (seconds - 1);
}

/**
 * The most accepted requests in one whole wall-clock-aligned window (as the sandbox counts them)
 * lying inside the run; null when the run holds no whole window.
 */
function fullestWindow(acceptedTimes: readonly number[], ms: number): number | null {
  if (acceptedTimes.length === 0) return null;
  const first = Math.min(...acceptedTimes);
  const last = Math.max(...acceptedTimes);
  let best: number | null = null;
  for (let start = Math.ceil(first / ms) * ms; start + ms <= last + 1; start += ms) {
    const n = acceptedTimes.filter((t) => t >= start && t < start + ms).length;
    best = Math.max(best ?? 0, n);
  }
  return best;
}

function asRequest(entry: RequestLogEntry): EmulatorRequest {
  return { method: entry.method, path: entry.path, query: new URLSearchParams(), headers: {}, body: Buffer.alloc(0) };
}

function gatewayLimitOf(partner: string, variant: LimitVariant, declared: PartnerLimits | undefined): string {
  const limits = { ...declared, ...(variant === 'documented' ? HOST_CONFIGURED[partner] : {}) };
  const parts = [
    limits.perSecond !== undefined ? `${round(limits.perSecond, 1)}/s` : undefined,
    limits.maxConcurrent !== undefined ? `${limits.maxConcurrent} concurrent` : undefined,
  ].filter(Boolean);
  return parts.length > 0
    ? `${parts.join(', ')}${variant === 'documented' && HOST_CONFIGURED[partner] ? ' (host config)' : ''}`
    : 'none declared (10 concurrent by default)';
}
