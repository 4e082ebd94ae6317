/**
 * Prometheus metrics (prom-client) for a gateway: counters and histograms fed by the gateway's
 * observer (every partner call, pause and job), gauges read from status() at each scrape. Labels are
 * partner names, operations, outcomes, job states and partners' error codes that passed safeErrorCode:
 * never a subject id or a personal value (CallObservation carries none to begin with).
 *
 * Create it before the gateway, hand `observer` to createGateway, then give it to createOpsServer.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CallObservation, Gateway, GatewayObserver, GatewayStatus } from '../index.ts';
import { CallWindow } from './call-window.ts';

type StatusSource = Pick<Gateway, 'status' | 'health'>;

/** Partners' error codes as labels, at most this many distinct ones per partner (then "other"). */
const MAX_CODES_PER_PARTNER = 50;

export interface OpsMetrics {
  readonly registry: Registry;
  /** Pass to createGateway({ observer }). */
  readonly observer: GatewayObserver;
  /** Calls per partner in the last minute (for the dashboard's rate use). */
  readonly calls: CallWindow;
  /** When each paused partner may be called again (ms since epoch). */
  pausedUntil(partner: string): number | undefined;
  /** The gateway whose status() the gauges read; set by createOpsServer. */
  bind(gateway: StatusSource): void;
  /** The Prometheus text of a fresh scrape (one status() call for every gauge). */
  scrape(): Promise<string>;
}

export function createOpsMetrics(options: { now?: () => number; processMetrics?: boolean } = {}): OpsMetrics {
  const now = options.now ?? Date.now;
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'partner_gateway_' });
  const calls = new CallWindow(60_000, now);
  const paused = new Map<string, number>();
  const codes = new Map<string, Set<string>>();
  let source: StatusSource | undefined;

  const callsTotal = new Counter({
    name: 'partner_gateway_partner_calls_total',
    help: 'Partner calls settled, by partner, operation and outcome (ok, failed, unknown)',
    labelNames: ['partner', 'operation', 'outcome'],
    registers: [registry],
  });
  const subjectsTotal = new Counter({
    name: 'partner_gateway_partner_call_subjects_total',
    help: 'Subjects carried by settled partner calls (a batch call carries many)',
    labelNames: ['partner', 'operation', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'partner_gateway_partner_call_duration_seconds',
    help: 'Partner call latency, from the request leaving to its answer',
    labelNames: ['partner', 'operation'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'partner_gateway_partner_rate_limited_total',
    help: 'Partner answers with HTTP 429 (too many requests)',
    labelNames: ['partner'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'partner_gateway_partner_errors_total',
    help: "Failed or unknown partner calls by the partner's error code (or http_<status>, or none)",
    labelNames: ['partner', 'code'],
    registers: [registry],
  });
  const pauses = new Counter({
    name: 'partner_gateway_partner_pauses_total',
    help: 'Retry-After pauses a partner asked for (429 or 503): no worker calls it until the pause ends',
    labelNames: ['partner'],
    registers: [registry],
  });
  const pauseSeconds = new Counter({
    name: 'partner_gateway_partner_pause_seconds_total',
    help: 'Seconds of Retry-After pauses a partner asked for',
    labelNames: ['partner'],
    registers: [registry],
  });
  const jobs = new Counter({
    name: 'partner_gateway_jobs_total',
    help: 'Reconcile jobs settled in this process: completed, failed (retried later) or deadletter',
    labelNames: ['partner', 'status'],
    registers: [registry],
  });

  // One status() per scrape, shared by every gauge below. scrape() starts afresh; a host that serves
  // the registry itself gets values at most half a second old.
  let current: { at: number; status: Promise<GatewayStatus> } | undefined;
  const status = (): Promise<GatewayStatus> | undefined => {
    if (!source) return undefined;
    if (!current || now() - current.at > 500) current = { at: now(), status: source.status() };
    return current.status;
  };
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, s: GatewayStatus) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const pending = status();
        if (!pending) return;
        this.reset();
        fill(this, await pending);
      },
    });
  gauge(
    'partner_gateway_queue_jobs',
    'Reconcile jobs per partner: queued (ready now), retrying (waiting out a backoff), active',
    ['partner', 'state'],
    (g, s) => {
      for (const p of s.partners) {
        g.set({ partner: p.partner, state: 'queued' }, p.queued);
        g.set({ partner: p.partner, state: 'retrying' }, p.retrying);
        g.set({ partner: p.partner, state: 'active' }, p.active);
      }
    },
  );
  gauge(
    'partner_gateway_queue_lag_seconds',
    'Seconds the oldest reconcile job ready to run has waited, per partner (0: none waits)',
    ['partner'],
    (g, s) => {
      for (const p of s.partners) g.set({ partner: p.partner }, p.lagSeconds);
    },
  );
  gauge('partner_gateway_dead_letters', 'Jobs that ran out of retries, per partner', ['partner'], (g, s) => {
    for (const p of s.partners) g.set({ partner: p.partner }, p.deadLetters);
  });
  gauge(
    'partner_gateway_failed_calls_24h',
    'Partner calls that failed in the last 24 hours (from the transfer log)',
    ['partner'],
    (g, s) => {
      for (const p of s.partners) g.set({ partner: p.partner }, p.failedCalls24h);
    },
  );
  gauge('partner_gateway_erasures_pending', 'Erasures due and not confirmed by every partner', [], (g, s) =>
    g.set(s.erasures.pending),
  );
  gauge('partner_gateway_erasures_overdue', 'Erasures due more than a day ago and still not complete', [], (g, s) =>
    g.set(s.erasures.overdue),
  );
  gauge(
    'partner_gateway_requests_open',
    'Data-subject requests (access, erasure, objection, ...) registered and not answered yet',
    [],
    (g, s) => g.set(s.requests.open),
  );
  gauge(
    'partner_gateway_requests_overdue',
    'Data-subject requests past their due date (one month, or the extension) and not answered',
    [],
    (g, s) => g.set(s.requests.overdue),
  );
  gauge('partner_gateway_log_unsealed_rows', 'Transfer log rows not yet sealed into the hash chain', [], (g, s) =>
    g.set(s.log.unsealed),
  );
  new Gauge({
    name: 'partner_gateway_partner_paused_seconds',
    help: 'Seconds until a paused partner may be called again (0: not paused)',
    labelNames: ['partner'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [partner, until] of paused) this.set({ partner }, Math.max(0, (until - now()) / 1_000));
    },
  });
  new Gauge({
    name: 'partner_gateway_ready',
    help: '1 when the database answers and its migrations are current, else 0',
    registers: [registry],
    async collect() {
      if (!source) return;
      const health = await source.health();
      this.set(health.database && health.migrations.applied >= health.migrations.expected && !health.stopped ? 1 : 0);
    },
  });

  const codeOf = (o: CallObservation): string => {
    const code = o.errorCode ?? (o.httpStatus ? `http_${o.httpStatus}` : 'none');
    const seen = codes.get(o.partner) ?? new Set<string>();
    codes.set(o.partner, seen);
    if (seen.has(code) || seen.size < MAX_CODES_PER_PARTNER) {
      seen.add(code);
      return code;
    }
    return 'other';
  };

  const observer: GatewayObserver = {
    callSettled(o) {
      const labels = { partner: o.partner, operation: o.operation, outcome: o.outcome };
      callsTotal.inc(labels);
      subjectsTotal.inc(labels, o.subjects);
      duration.observe({ partner: o.partner, operation: o.operation }, o.durationMs / 1_000);
      if (o.httpStatus === 429) rateLimited.inc({ partner: o.partner });
      if (o.outcome !== 'ok') errors.inc({ partner: o.partner, code: codeOf(o) });
      calls.record(o.partner);
    },
    paused(partner, ms) {
      pauses.inc({ partner });
      pauseSeconds.inc({ partner }, ms / 1_000);
      paused.set(partner, Math.max(paused.get(partner) ?? 0, now() + ms));
    },
    jobSettled(partner, jobStatus) {
      jobs.inc({ partner, status: jobStatus });
    },
  };

  return {
    registry,
    observer,
    calls,
    pausedUntil: (partner) => {
      const until = paused.get(partner);
      return until !== undefined && until > now() ? until : undefined;
    },
    bind: (gateway) => {
      source = gateway;
    },
    scrape: () => {
      current = undefined;
      return registry.metrics();
    },
  };
}
