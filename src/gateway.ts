import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { checkAdapters } from './adapters-check.ts';
import type { Gateway, GatewayOptions } from './gateway-api.ts';
import { detectDrift } from './drift.ts';
import { auditKeySource, createKeys } from './keys.ts';
import { createLifecycle } from './lifecycle/index.ts';
import { inputs } from './lifecycle/inputs.ts';
import { writeEvent } from './log/transfer-log.ts';
import { createOps } from './ops.ts';
import { resolvePolicy } from './policy/index.ts';
import { DEFAULT_MISSING_RECORD_GRACE_DAYS, missingRecords, processMissingRecords } from './missing-records.ts';
import { DEFAULT_DELETION_LIMIT, resync } from './resync.ts';
import { defaultRetryPolicy } from './schedule/boss.ts';
import { createSchedule } from './schedule/schedule.ts';
import { checkKeyFingerprints } from './store/key-fingerprints.ts';
import { openStore } from './store/open.ts';
import { performAction } from './transfer/action.ts';
import { createPacing } from './transfer/create-pacing.ts';
import { recordedIds } from './transfer/log-ids.ts';
import { createTransfer } from './transfer/transfer.ts';
import { createWorkers } from './workers.ts';

export type {
  Gateway,
  GatewayOptions,
  GatewayStatus,
  GatewayHealth,
  PartnerStatus,
  DeadLetter,
} from './gateway-api.ts';

/**
 * The composition root: store, pacing, schedule, transfer, lifecycle, workers and ops, each built
 * from the ones before it, so nothing is patched after construction.
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const policy = resolvePolicy(options.policy);
  const keys = createKeys(options.secrets);
  const logger =
    options.logger ?? pino({ name: 'partner-gateway', level: process.env.PARTNER_GATEWAY_LOG_LEVEL ?? 'info' });
  // A derived audit key is as secret as the pseudonym key, so a database writer still cannot forge
  // the log; but whoever verifies it then holds the key to every pseudonym. Production should not.
  if (auditKeySource(options.secrets) === 'derived' && process.env.NODE_ENV === 'production')
    logger.warn(
      'the audit key is derived from the pseudonym key: set PARTNER_GATEWAY_AUDIT_KEY (or secrets.auditKey) so verifying the transfer log does not need the pseudonym key',
    );
  const now = options.now ?? (() => new Date());
  const { adapters, partners } = checkAdapters(policy, options.adapters);
  const { database, close } = await openStore(options.database);
  // Before anything else touches the store: data made with other keys must not meet these.
  await checkKeyFingerprints(database, keys).catch(async (error: unknown) => {
    await close();
    throw error;
  });
  const retry = { ...defaultRetryPolicy, ...options.retry };
  // Slots a dead worker leased come free no later than its jobs are retried (both at its heartbeat).
  const pacing = await createPacing(database, [...adapters.values()], options.limits, {
    slotLeaseSeconds: Math.max(10, retry.heartbeatSeconds),
  });
  const schedule = await createSchedule({ db: database, partners, retry, logger });
  const recordedId = recordedIds(keys, adapters);
  const transfer = createTransfer({
    db: database,
    policy,
    pacing,
    logger,
    observer: options.observer,
    recordedId,
    keys,
  });
  const logEvent = async (event: Parameters<Parameters<typeof createLifecycle>[0]['logEvent']>[0]) => {
    await writeEvent(database, { ...event, correlationId: randomUUID(), policyDigest: policy.digest }, keys.audit);
  };
  const base = {
    db: database,
    policy,
    keys,
    adapters,
    now,
    logger,
    transfer,
    source: options.source,
    sourceTimeoutMs: options.sourceTimeoutMs,
  };
  const enqueueSubject = schedule.enqueueSubject;
  const lifecycle = createLifecycle({
    ...base,
    hooks: options.hooks ?? {},
    enqueueSubject,
    logEvent,
    subjectJobs: schedule.subjectJobs,
  });
  const synced = partners.filter((p) => policy.partner(p).mode === 'sync');
  const graceDays = options.missingRecordGraceDays ?? DEFAULT_MISSING_RECORD_GRACE_DAYS;
  if (!(Number.isFinite(graceDays) && graceDays >= 0)) throw new Error('missingRecordGraceDays must be a number >= 0');
  const deletionLimit = { ...DEFAULT_DELETION_LIMIT, ...options.resyncDeletionLimit };
  // Vanished records past their grace period are erased through the lifecycle's erase (every partner).
  const processDueErasures = async (): Promise<number> => {
    const missing = await processMissingRecords({
      db: database,
      source: options.source,
      now,
      graceDays,
      sourceTimeoutMs: options.sourceTimeoutMs,
      logger,
      erase: (id, reason) => lifecycle.api.erase(id, { reason }),
      changed: (id) => enqueueSubject(id, 'change', { partners: synced }),
    });
    return missing + (await lifecycle.api.processDueErasures());
  };
  const workers = createWorkers({
    ...base,
    schedule,
    recordedId,
    observer: options.observer,
    batchSize: options.batchSize,
    onErased: lifecycle.internals.onPartnerErased,
    processDueErasures,
  });
  let stopped = false;
  const ops = createOps({
    db: database,
    policy,
    keyring: keys.audit,
    partners,
    schedule,
    lifecycle: lifecycle.api,
    now,
    stopped: () => stopped,
    missingRecords: async () => {
      const missing = await missingRecords(database, graceDays);
      return { count: missing.length, oldest: missing.slice(0, 100) };
    },
  });
  return {
    ...lifecycle.api,
    ...ops,
    processDueErasures,
    access: async (subjectId, accessOptions) => {
      const report = await lifecycle.api.access(subjectId, accessOptions);
      const missing = (await missingRecords(database, graceDays, [report.subjectId]))[0];
      return {
        ...report,
        recordMissing: missing ? { since: missing.since, erasureAfter: missing.erasureAfter } : null,
      };
    },
    drift: async (driftOptions = {}) => {
      const report = await detectDrift(
        { db: database, policy, keys, transfer, adapters, enqueue: schedule.enqueue },
        driftOptions,
      );
      await logEvent({
        operation: 'drift_check',
        trigger: 'ops',
        ...(driftOptions.operator ? { operator: driftOptions.operator } : {}),
      });
      return report;
    },
    recordMissing: async (subjectId) =>
      (await missingRecords(database, graceDays, [inputs.subjectId(subjectId)]))[0] ?? null,
    policy,
    database,
    // Partners in mode action/none hold nothing we sync; a change concerns them only on erasure.
    changed: async (subjectId, opts = {}) =>
      enqueueSubject(inputs.subjectId(subjectId), 'change', { ...opts, partners: synced }),
    resync: async (resyncOptions = {}) => {
      const correlationId = randomUUID();
      const { force, operator } = resyncOptions;
      const job = {
        trigger: 'resync' as const,
        correlationId,
        ...(force ? { force } : {}),
        ...(operator ? { operator } : {}),
      };
      const enqueue = (p: string, ids: readonly string[]) =>
        schedule.enqueue(
          p,
          ids.map((subjectId) => ({ subjectId, ...job })),
        );
      const summary = await resync(
        { sql: database, policy, keys, adapters, source: options.source, now, enqueue, deletionLimit },
        resyncOptions,
        correlationId,
      );
      if (!resyncOptions.dryRun) {
        await logEvent({ operation: 'resync', trigger: 'resync', ...(operator ? { operator } : {}) });
        // Deleting over the limit is an operator's decision: the log says who made it.
        if (summary.deletions.overridden)
          await logEvent({ operation: 'resync_mass_deletion', trigger: 'resync', operator: operator ?? 'unknown' });
      }
      return summary;
    },
    work: workers.work,
    runUntilIdle: workers.runUntilIdle,
    call: async (subjectId, action, params, callOptions = {}) => {
      const partner = callOptions.partner ?? partners.find((p) => policy.partner(p).mode === 'action');
      if (!partner) throw new Error('no action partner is configured');
      return performAction(base, partner, inputs.subjectId(subjectId), action, params, callOptions.operator);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      workers.stop();
      await schedule.stop();
      await ops.audit.seal().catch(() => undefined);
      await close();
    },
  };
}
