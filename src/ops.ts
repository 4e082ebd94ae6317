import { randomUUID } from 'node:crypto';
import type { DeadLetter, Gateway, GatewayStatus, IncompleteErasure } from './gateway-api.ts';
import type { ErasureStatus, Lifecycle } from './lifecycle/types.ts';
import type { AuditKeyring } from './log/audit-keys.ts';
import { sealAll, verifyChain } from './log/chain.ts';
import { createCheckpoint } from './log/checkpoint.ts';
import { listTransfers } from './log/query.ts';
import { writeEvent } from './log/transfer-log.ts';
import type { Policy } from './policy/index.ts';
import type { Schedule } from './schedule/schedule.ts';
import type { Database } from './store/database.ts';
import { listMigrations } from './store/migrate.ts';

type Ops = Pick<Gateway, 'status' | 'deadLetters' | 'redrive' | 'audit' | 'health'>;

/** What operators see and steer: status, dead letters and their redrive, the audit trail, health. */
export function createOps(deps: {
  readonly db: Database;
  readonly policy: Policy;
  /** Tags the rows ops write, signs the chain as it seals, and checks it (keys.audit). */
  readonly keyring: AuditKeyring;
  readonly partners: readonly string[];
  readonly schedule: Schedule;
  readonly lifecycle: Pick<Lifecycle, 'pendingErasures' | 'requests'>;
  readonly now: () => Date;
  readonly stopped: () => boolean;
  readonly missingRecords: () => Promise<GatewayStatus['missingRecords']>;
  readonly offboarding: () => Promise<GatewayStatus['offboarding']>;
}): Ops {
  const { db, schedule, keyring } = deps;
  return {
    status: async (): Promise<GatewayStatus> => {
      const synced = deps.partners.filter(
        (p) => deps.policy.partnerNames.includes(p) && deps.policy.partner(p).mode === 'sync',
      );
      const [counts, failures, pending, [log], requests, missingRecords, notInStep, offboarding, [restrictions]] =
        await Promise.all([
          schedule.counts(),
          db.query<{ partner: string; n: number }>(
            `select partner, count(*)::int as n from transfer_log
           where kind = 'outcome' and outcome <> 'ok' and at > now() - interval '1 day' group by 1`,
          ),
          deps.lifecycle.pendingErasures(),
          db.query<{ unsealed: number }>(`select count(*)::int as unsealed from transfer_log where chain_pos is null`),
          deps.lifecycle.requests.summary(),
          deps.missingRecords(),
          db.query<{ partner: string; subjects: number }>(
            `select partner, count(*)::int as subjects from links
           where holds and partner = any($1::text[]) and policy_digest is distinct from $2 group by 1 order by 1`,
            [synced, deps.policy.digest],
          ),
          deps.offboarding(),
          db.query<{ restricted: number; to_tell: number; to_lift: number }>(
            `select (select count(*)::int from subjects where restricted_at is not null) as restricted,
             (select count(*)::int from links l join subjects s on s.id = l.subject_id
               where s.restricted_at is not null and l.holds and l.erased_at is null and l.restriction_applied is null) as to_tell,
             (select count(*)::int from links l left join subjects s on s.id = l.subject_id
               where l.restriction_applied is not null and s.restricted_at is null) as to_lift`,
          ),
        ]);
      const at = deps.now().getTime();
      // Overdue: due more than a day ago and still not complete.
      const isOverdue = (e: ErasureStatus) => e.dueAt !== null && at - e.dueAt.getTime() > OVERDUE_MS;
      return {
        partners: counts.map((c) => ({ ...c, failedCalls24h: failures.find((f) => f.partner === c.partner)?.n ?? 0 })),
        erasures: {
          pending: pending.length,
          overdue: pending.filter(isOverdue).length,
          incomplete: incompleteErasures(pending, isOverdue),
        },
        log: { unsealed: log?.unsealed ?? 0 },
        requests,
        missingRecords,
        policy: { digest: deps.policy.digest, notInStep },
        offboarding,
        restrictions: {
          restricted: restrictions?.restricted ?? 0,
          toTell: restrictions?.to_tell ?? 0,
          toLift: restrictions?.to_lift ?? 0,
        },
      };
    },
    deadLetters: async (partner) => {
      const out: DeadLetter[] = [];
      for (const p of partner ? [partner] : deps.partners) {
        for (const job of await schedule.deadLetters(p)) {
          out.push({
            id: job.id,
            partner: p,
            subjectId: job.data.subjectId,
            trigger: job.data.trigger,
            createdOn: job.createdOn,
            error: job.message ?? (await lastError(db, p, job.data.subjectId)),
          });
        }
      }
      return out;
    },
    redrive: async (partner, ids, options = {}) => {
      const moved = await schedule.redrive(partner, ids);
      if (moved > 0) {
        await writeEvent(
          db,
          {
            partner,
            operation: 'redrive',
            trigger: 'ops',
            operator: options.operator ?? 'redrive',
            correlationId: randomUUID(),
            policyDigest: deps.policy.digest,
          },
          keyring,
        );
      }
      schedule.wake(partner);
      return moved;
    },
    audit: {
      // Sealing first: rows written since the last background seal are checked in the chain, not only by tag.
      verify: async (options = {}) => {
        await sealAll(db, keyring);
        return verifyChain(db, keyring, options.against ? { against: options.against } : {});
      },
      checkpoint: async () => {
        await sealAll(db, keyring);
        return createCheckpoint(db, keyring, deps.now());
      },
      list: (filter) => listTransfers(db, filter),
      seal: () => sealAll(db, keyring),
    },
    health: async () => {
      const expected = Math.max(0, ...listMigrations().map((m) => m.version));
      const base = { working: schedule.working(), stopped: deps.stopped() };
      try {
        const [row] = await db.query<{ applied: number }>(
          `select coalesce(max(version), 0)::int as applied from schema_migrations`,
        );
        return { ...base, database: true, migrations: { applied: row?.applied ?? 0, expected } };
      } catch {
        return { ...base, database: false, migrations: { applied: 0, expected } };
      }
    },
  };
}

const OVERDUE_MS = 24 * 3600 * 1000;
const INCOMPLETE_SHOWN = 100;

/** What each open erasure lacks, the one missing something longest first. */
function incompleteErasures(
  pending: readonly ErasureStatus[],
  isOverdue: (e: ErasureStatus) => boolean,
): IncompleteErasure[] {
  const oldest = (e: ErasureStatus) => Math.min(...e.missing.map((m) => m.since.getTime()));
  return pending
    .filter((e) => e.missing.length > 0)
    .sort((a, b) => oldest(a) - oldest(b) || a.subjectId.localeCompare(b.subjectId))
    .slice(0, INCOMPLETE_SHOWN)
    .map((e) => ({ subjectId: e.subjectId, dueAt: e.dueAt, overdue: isOverdue(e), missing: e.missing }));
}

async function lastError(db: Database, partner: string, subjectId: string): Promise<string | null> {
  const [row] = await db.query<{ error_code: string | null; http_status: number | null }>(
    `select error_code, http_status from transfer_log
     where kind = 'outcome' and outcome <> 'ok' and partner = $1 and subject_id = $2 order by seq desc limit 1`,
    [partner, subjectId],
  );
  if (!row) return null;
  return [row.http_status ? `HTTP ${row.http_status}` : null, row.error_code].filter(Boolean).join(' ');
}
