import { randomUUID } from 'node:crypto';
import type { Gateway } from '../gateway-api.ts';
import type { Lifecycle } from '../lifecycle/index.ts';
import { inputs } from '../lifecycle/inputs.ts';
import { missingRecords, processMissingRecords } from '../missing-records.ts';
import { resync } from '../resync.ts';
import type { Core } from './core.ts';

export type RecordCommands = Pick<Gateway, 'changed' | 'resync' | 'processDueErasures' | 'access' | 'recordMissing'>;

/** What follows the master records: a change, a resync, a vanished record, and the reports on them. */
export function recordCommands(core: Core, lifecycle: Lifecycle): RecordCommands {
  const { base, schedule, settings, logEvent } = core;
  const { graceDays, synced } = settings;
  const db = base.db;
  return {
    // Partners in mode action/none hold nothing we sync; a change concerns them only on erasure.
    changed: async (subjectId, opts = {}) =>
      schedule.enqueueSubject(inputs.subjectId(subjectId), 'change', { ...opts, partners: synced }),
    // Vanished records past their grace period are erased through the lifecycle's erase (every partner).
    processDueErasures: async () => {
      const missing = await processMissingRecords({
        db,
        source: base.source,
        now: base.now,
        graceDays,
        sourceTimeoutMs: base.sourceTimeoutMs,
        logger: base.logger,
        erase: (id, reason) => lifecycle.erase(id, { reason }),
        changed: (id) => schedule.enqueueSubject(id, 'change', { partners: synced }),
      });
      return missing + (await lifecycle.processDueErasures());
    },
    access: async (subjectId, accessOptions) => {
      const report = await lifecycle.access(subjectId, accessOptions);
      const missing = (await missingRecords(db, graceDays, [report.subjectId]))[0];
      return {
        ...report,
        recordMissing: missing ? { since: missing.since, erasureAfter: missing.erasureAfter } : null,
      };
    },
    recordMissing: async (subjectId) => (await missingRecords(db, graceDays, [inputs.subjectId(subjectId)]))[0] ?? null,
    resync: async (resyncOptions = {}) => {
      const correlationId = randomUUID();
      const { force, operator } = resyncOptions;
      const job = {
        trigger: 'resync' as const,
        correlationId,
        ...(force ? { force } : {}),
        ...(operator ? { operator } : {}),
      };
      const summary = await resync(
        {
          ...base,
          sql: db,
          enqueue: (partner, ids) =>
            schedule.enqueue(
              partner,
              ids.map((subjectId) => ({ subjectId, ...job })),
            ),
          deletionLimit: settings.deletionLimit,
          withdraw: async (subjectId, purpose, input) =>
            void (await lifecycle.consent.withdraw(subjectId, purpose, input)),
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
  };
}
