import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { checkAdapters } from './adapters-check.ts';
import type { Gateway, GatewayOptions } from './gateway-api.ts';
import { detectDrift } from './drift.ts';
import { auditKeySource, createKeys, type Keys } from './keys.ts';
import { createLifecycle } from './lifecycle/index.ts';
import { inputs } from './lifecycle/inputs.ts';
import { writeEvent } from './log/transfer-log.ts';
import { createOps } from './ops.ts';
import { resolvePolicy, withFormerPartners } from './policy/index.ts';
import { offboardingStatus, subjectsToOffboard } from './offboard.ts';
import { DEFAULT_MISSING_RECORD_GRACE_DAYS, missingRecords, processMissingRecords } from './missing-records.ts';
import { DEFAULT_DELETION_LIMIT, resync } from './resync.ts';
import { defaultRetryPolicy } from './schedule/boss.ts';
import { createSchedule } from './schedule/schedule.ts';
import { rotatePseudonymKey } from './rotation/rotate.ts';
import { checkKeyFingerprints, storedFingerprint } from './store/key-fingerprints.ts';
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
  return assembleGateway(options, createKeys(options.secrets));
}

/**
 * The gateway on the keys given: createGateway's, or a read-only gateway's (src/read-only-gateway.ts),
 * whose keys refuse whatever needs the pseudonym key.
 */
export async function assembleGateway(
  options: Omit<GatewayOptions, 'secrets'> & { readonly secrets: Partial<GatewayOptions['secrets']> },
  keys: Keys,
): Promise<Gateway> {
  const resolvedPolicy = resolvePolicy(options.policy);
  const logger =
    options.logger ?? pino({ name: 'partner-gateway', level: process.env.PARTNER_GATEWAY_LOG_LEVEL ?? 'info' });
  // A derived audit key is as secret as the pseudonym key, so a database writer still cannot forge
  // the log; but whoever verifies it then holds the key to every pseudonym. Production should not.
  const { pseudonymKey } = options.secrets;
  if (
    pseudonymKey &&
    auditKeySource({ ...options.secrets, pseudonymKey }) === 'derived' &&
    process.env.NODE_ENV === 'production'
  )
    logger.warn(
      'the audit key is derived from the pseudonym key: set PARTNER_GATEWAY_AUDIT_KEY (or secrets.auditKey) so verifying the transfer log does not need the pseudonym key',
    );
  const now = options.now ?? (() => new Date());
  const { adapters, partners, former } = checkAdapters(resolvedPolicy, options.adapters);
  if (former.length > 0)
    logger.warn(
      { partners: former },
      'adapters given for partners the policy no longer names: nothing is sent to them; offboard() erases what they hold',
    );
  // What workers, transfer and the lifecycle plan with: the policy, and a stand-in for each former partner.
  const policy = withFormerPartners(resolvedPolicy, former);
  const { database, close } = await openStore(options.database);
  // Before anything else touches the store: data made with other keys must not meet these.
  const keyState = {
    current: await (async () => {
      const { pseudonymKey } = options.secrets;
      if (keys.retired.length > 0 && pseudonymKey)
        keys = createKeys(
          { ...options.secrets, pseudonymKey },
          process.env,
          await storedFingerprint(database, 'digest'),
        );
      return checkKeyFingerprints(database, keys, { rotation: options.keyRotation === true });
    })().catch(async (error: unknown) => {
      await close();
      throw error;
    }),
  };
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
    keyState,
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
  // Former partners are not among them: a record change sends them nothing (offboard() erases there).
  const synced = partners.filter((p) => !former.includes(p) && policy.partner(p).mode === 'sync');
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
  const refuseDuringRotation = (what: string) => {
    if (options.keyRotation)
      throw new Error(`${what}: this gateway was opened for a pseudonym key rotation, which runs no workers`);
  };
  const ops = createOps({
    db: database,
    policy,
    keyring: keys.audit,
    partners,
    schedule,
    lifecycle: lifecycle.api,
    now,
    stopped: () => stopped,
    offboarding: () => offboardingStatus(database, policy, former),
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
    policy: resolvedPolicy,
    database,
    offboarding: (partner) => offboardingStatus(database, policy, former, partner),
    offboard: async (partner, offboardOptions = {}) => {
      if (policy.partnerNames.includes(partner))
        throw new Error(`offboard ${partner}: the policy still names it (remove it from the policy first)`);
      if (!former.includes(partner))
        throw new Error(
          `offboard ${partner}: no adapter was given for it${former.length > 0 ? ` (former partners with one: ${former.join(', ')})` : ''}`,
        );
      const correlationId = randomUUID();
      const { operator, dryRun = false } = offboardOptions;
      let enqueued = 0;
      if (!dryRun) {
        for await (const ids of subjectsToOffboard(database, partner)) {
          await schedule.enqueue(
            partner,
            ids.map((subjectId) => ({
              subjectId,
              trigger: 'ops' as const,
              correlationId,
              ...(operator ? { operator } : {}),
            })),
          );
          enqueued += ids.length;
        }
        // The operator's decision, with the jobs' correlation: the log ties each erasure to it.
        const event = { partner, operation: 'offboard', trigger: 'ops' as const, correlationId };
        await writeEvent(
          database,
          { ...event, operator: operator ?? 'offboard', policyDigest: policy.digest },
          keys.audit,
        );
      }
      const [progress] = await offboardingStatus(database, policy, former, partner);
      return { ...progress!, enqueued, correlationId, dryRun };
    },
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
        {
          sql: database,
          policy,
          keys,
          adapters,
          source: options.source,
          now,
          enqueue,
          deletionLimit,
          withdraw: async (subjectId, purpose, input) =>
            void (await lifecycle.api.consent.withdraw(subjectId, purpose, input)),
        },
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
    // A gateway opened for a rotation works the rotation only: the queues wait for the new key.
    work: async (workOptions) => {
      refuseDuringRotation('work()');
      return workers.work(workOptions);
    },
    runUntilIdle: async (idleOptions) => {
      refuseDuringRotation('runUntilIdle()');
      return workers.runUntilIdle(idleOptions);
    },
    rotatePseudonymKey: async (rotationOptions = {}) => {
      if (!options.keyRotation)
        throw new Error(
          'rotatePseudonymKey: open the gateway with keyRotation: true (the new key as secrets.pseudonymKey, the old one in secrets.previousPseudonymKeys)',
        );
      return rotatePseudonymKey(
        { ...base, recordedId, keyState, onErased: lifecycle.internals.onPartnerErased },
        rotationOptions,
      );
    },
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
