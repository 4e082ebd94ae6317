import { randomUUID } from 'node:crypto';
import { sealAll } from '../log/chain.ts';
import { purgeRows } from '../log/purge.ts';
import { writeEvent } from '../log/transfer-log.ts';
import { purgeExpiredRequests } from './requests.ts';
import type { LifecycleDeps, PurgeResult } from './types.ts';

const BATCH = 500;

/**
 * Retention: the gateway's own rows about a subject (transfer log, consent ledger, tombstone, links)
 * go one retention period after the relationship ended, once nothing of the subject is left at any
 * partner. Log rows are sealed first and then emptied in place: each keeps its seq, chain position,
 * content hash and chain hash, so the chain still verifies without its personal content, and each
 * emptying is signed with the audit key (src/log/purge.ts), so verify tells it from a forged one.
 * The run itself is a signed event in the chain, written with its first batch. An erased subject
 * leaves only a keyed mark (src/store/erased.ts), so a host that still has its record cannot get it
 * re-created at a partner.
 */
export async function purgeExpired(deps: LifecycleDeps): Promise<PurgeResult> {
  const now = deps.now();
  const cutoff = new Date(now.getTime());
  cutoff.setUTCFullYear(
    cutoff.getUTCFullYear() - deps.policy.document.retention.gatewayRecordsAfterRelationshipEnds.years,
  );
  const keyring = deps.keys.audit;
  // Every row to purge must have its content hash recorded before its content goes. Signing an
  // unsigned chain is the gateway sealer's step, not retention's.
  await sealAll(deps.db, keyring, { adopt: false });
  const correlationId = randomUUID();

  // As in erasure status: ids at a partner that collects directly may mean it holds something.
  const collecting = deps.policy.partnerNames.filter((p) => deps.policy.partner(p).collects.length > 0);
  const total = { subjects: 0, logRowsPurged: 0, ledgerRowsPurged: 0, tombstonesPurged: 0 };
  for (;;) {
    const batch = await deps.db.transaction(async (tx) => {
      const candidates = await tx.query<{ id: string }>(
        `select s.id from subjects s
         where s.relationship_ended_at <= $1
           and (s.erasure_completed_at is not null
             or not exists (select 1 from links l where l.subject_id = s.id
               and (l.holds or (l.partner = any($3::text[]) and jsonb_array_length(l.partner_ids) > 0 and l.erased_at is null))))
           -- an erasure still incomplete (a hook owed, a partner without an adapter not erased by hand)
           -- keeps the subject's rows: they are how status knows it is owed
           and not (s.erasure_completed_at is null and exists (select 1 from tombstones t where t.subject_id = s.id))
           -- a request still open keeps the subject's records: it has to be answered from them
           and not exists (select 1 from subject_requests r where r.subject_id = s.id and r.answered_at is null)
           -- a row written since sealAll() has no content hash yet: leave the subject for the next run
           and not exists (select 1 from transfer_log t where t.subject_id = s.id and t.chain_pos is null)
         order by s.id limit $2 for update`,
        [cutoff, BATCH, collecting],
      );
      const ids = candidates.map((c) => c.id);
      if (ids.length === 0) return null;
      // No subject id and no count in the event: the operation is the record; counts go to the ops log.
      if (total.subjects === 0)
        await writeEvent(
          tx,
          { operation: 'retention_purge', trigger: 'retention', correlationId, policyDigest: deps.policy.digest },
          keyring,
        );
      const logRows = await purgeRows(tx, ids, now, keyring);
      const ledger = await tx.query(`delete from consent_ledger where subject_id = any($1::text[]) returning id`, [
        ids,
      ]);
      const tombstones = await tx.query<{ subject_id: string }>(
        `delete from tombstones where subject_id = any($1::text[]) returning subject_id`,
        [ids],
      );
      // What stops re-creation outlives the tombstone, without the subject id (src/store/erased.ts).
      await tx.query(
        `insert into erasure_marks (mark, purged_at) select unnest($1::text[]), $2 on conflict (mark) do nothing`,
        [tombstones.map((t) => deps.keys.erasureMark(t.subject_id)), now],
      );
      await tx.query(`delete from manual_erasures where subject_id = any($1::text[])`, [ids]);
      await tx.query(`delete from links where subject_id = any($1::text[])`, [ids]);
      await tx.query(`delete from subjects where id = any($1::text[])`, [ids]);
      return {
        subjects: ids.length,
        logRowsPurged: logRows,
        ledgerRowsPurged: ledger.length,
        tombstonesPurged: tombstones.length,
      };
    });
    if (!batch) break;
    total.subjects += batch.subjects;
    total.logRowsPurged += batch.logRowsPurged;
    total.ledgerRowsPurged += batch.ledgerRowsPurged;
    total.tombstonesPurged += batch.tombstonesPurged;
    if (batch.subjects < BATCH) break;
  }
  if (total.subjects > 0) deps.logger.info({ ...total, correlationId }, 'retention purge');
  await purgeExpiredRequests(deps);
  return total;
}
