/** Per partner, what an operator watches: queue depth, failures, pauses and rate use (calls now / limit). */
import type { GatewayStatus } from '../index.ts';
import type { OpsMetrics } from './metrics.ts';

export interface PartnerOverview {
  readonly partner: string;
  readonly queued: number;
  /** Seconds the oldest job ready to run has waited (0 when none waits). */
  readonly lagSeconds: number;
  readonly retrying: number;
  readonly active: number;
  readonly deadLetters: number;
  readonly failedCalls24h: number;
  /** Calls per second over the last minute, made by this process. */
  readonly callsPerSecond: number;
  /** The effective limit the gateway paces to, when it has one. */
  readonly limitPerSecond: number | null;
  /** callsPerSecond / limitPerSecond (0..1, may pass 1 briefly on bursts); null without a limit. */
  readonly rateUse: number | null;
  /** Seconds left of a Retry-After pause the partner asked for; 0 when not paused. */
  readonly pausedSeconds: number;
}

export function partnerOverview(
  status: GatewayStatus,
  metrics: OpsMetrics,
  limits: Readonly<Record<string, { readonly perSecond?: number | undefined }>>,
  now: number = Date.now(),
): PartnerOverview[] {
  return status.partners.map((p) => {
    const callsPerSecond = metrics.calls.perSecond(p.partner);
    const limit = limits[p.partner]?.perSecond ?? null;
    const until = metrics.pausedUntil(p.partner);
    return {
      partner: p.partner,
      queued: p.queued,
      lagSeconds: Math.round(p.lagSeconds),
      retrying: p.retrying,
      active: p.active,
      deadLetters: p.deadLetters,
      failedCalls24h: p.failedCalls24h,
      callsPerSecond: Math.round(callsPerSecond * 100) / 100,
      limitPerSecond: limit,
      rateUse: limit ? Math.round((callsPerSecond / limit) * 1000) / 1000 : null,
      pausedSeconds: until ? Math.ceil((until - now) / 1_000) : 0,
    };
  });
}
