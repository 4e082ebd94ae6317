import type { PartnerAdapter } from './adapter.ts';
import type { Keys } from './keys.ts';
import type { Policy } from './policy/index.ts';
import { inputs, LifecycleInputError } from './lifecycle/inputs.ts';
import { isRecordGone } from './plan/missing.ts';
import {
  recordPartnerWithdrawals,
  type PartnerWithdrawalCounts,
  type PartnerWithdrawalDeps,
} from './partner-withdrawals.ts';
import { planRead, readRecord } from './plan/plan.ts';
import { getRecords, type RecordSource } from './source.ts';
import type { Sql } from './store/database.ts';
import { loadStates, notePolicyDigest } from './store/state.ts';

export interface ResyncOptions {
  /** Only these partners (default: every partner with an adapter). */
  readonly partner?: string | readonly string[];
  /** Only these subjects (default: the whole source, plus subjects partners hold that the source lost). */
  readonly subjects?: readonly string[];
  /** Send even to partners whose digest says they are in step. */
  readonly force?: boolean;
  /** Count what would happen; call nobody and enqueue nothing. */
  readonly dryRun?: boolean;
  /**
   * Go on although the resync would delete more than the deletion limit allows (a partial scan, a
   * host bug, or a real mass deletion the operator has checked). Logged with the operator.
   */
  readonly allowMassDeletion?: boolean;
  readonly operator?: string;
  /** Called after each chunk, for progress bars. */
  readonly onProgress?: (progress: ResyncProgress) => void;
}

export interface PartnerCounts {
  creates: number;
  updates: number;
  erasures: number;
  suppressions: number;
  unchanged: number;
  skipped: number;
  /** Subjects whose record has an invalid field this partner is sent: nothing is sent, a dead letter says why. */
  invalid: number;
  /** Subjects the partner holds whose record the source no longer has: noted missing (erased after the grace period). */
  missing: number;
}

/** When a resync deletes nothing: more subjects than `count`, or more than `share` of those partners hold. */
export interface DeletionLimit {
  readonly count: number;
  /** 0..1 of the subjects partners hold; applies once at least 3 subjects would go. */
  readonly share: number;
}

export const DEFAULT_DELETION_LIMIT: DeletionLimit = { count: 100, share: 0.1 };

export interface ResyncDeletions {
  /** Subjects that would be deleted somewhere or noted missing by this resync. */
  readonly subjects: number;
  /** Subjects partners hold (the base of the share). */
  readonly held: number;
  readonly limit: DeletionLimit;
  /** Over the limit without allowMassDeletion: nothing was deleted or noted missing. */
  readonly refused: boolean;
  /** Over the limit, and allowMassDeletion said go on (logged with the operator). */
  readonly overridden: boolean;
}

export interface ResyncProgress {
  readonly scanned: number;
  /** Records invalid for at least one partner (a partner not sent the invalid field is still served). */
  readonly invalid: number;
  /** Subjects whose record the source could not give (get() threw or did not answer in time). */
  readonly unreadable: number;
  readonly perPartner: Readonly<Record<string, PartnerCounts>>;
}

export interface ResyncSummary extends ResyncProgress {
  readonly dryRun: boolean;
  /**
   * Per consent-based partner that reports unsubscribes (Mailchimp): members unsubscribed at the
   * partner, and how many of them the ledger now records as withdrawn (source: the partner).
   */
  readonly partnerWithdrawals: Readonly<Record<string, PartnerWithdrawalCounts>>;
  readonly deletions: ResyncDeletions;
  readonly enqueued: number;
  readonly correlationId: string;
}

export interface ResyncDeps {
  readonly sql: Sql;
  readonly policy: Policy;
  readonly keys: Keys;
  readonly adapters: ReadonlyMap<string, PartnerAdapter>;
  readonly source: RecordSource;
  readonly now: () => Date;
  /** Enqueue reconcile jobs for these subjects at this partner. */
  readonly enqueue: (partner: string, subjectIds: readonly string[]) => Promise<void>;
  readonly deletionLimit?: DeletionLimit | undefined;
  /** Records a partner-side unsubscribe as a withdrawal; without it the partners are not asked. */
  readonly withdraw?: PartnerWithdrawalDeps['withdraw'] | undefined;
}

const CHUNK = 1_000;

/**
 * Streams the source, decides in bulk which (subject, partner) pairs differ, and enqueues jobs only
 * for those: unchanged subjects cost a digest and no partner call (DESIGN §3). The same reconcile()
 * the workers run makes the decision here, so a dry run counts exactly what a real run would do.
 */
export async function resync(deps: ResyncDeps, options: ResyncOptions, correlationId: string): Promise<ResyncSummary> {
  const partners = selectPartners(deps, options.partner);
  const perPartner: Record<string, PartnerCounts> = Object.fromEntries(
    partners.map((p) => [
      p,
      { creates: 0, updates: 0, erasures: 0, suppressions: 0, unchanged: 0, skipped: 0, invalid: 0, missing: 0 },
    ]),
  );
  // Before the scan: a member who unsubscribed at the partner is withdrawn in the ledger first, so the
  // plans below see the withdrawal, and nothing the resync sends can re-subscribe the member.
  const partnerWithdrawals = deps.withdraw
    ? await recordPartnerWithdrawals({ ...deps, withdraw: deps.withdraw }, partners, {
        dryRun: options.dryRun,
        subjects: options.subjects ? new Set(checkSubjects(options.subjects)) : undefined,
        correlationId,
      })
    : {};
  const seen = new Set<string>();
  let scanned = 0;
  let invalid = 0;
  let unreadable = 0;
  let enqueued = 0;
  const chunk: { id: string; record: unknown }[] = [];
  // Deletions wait for the end of the scan: only then is it known whether they stay under the limit.
  const deletions = new Map<string, string[]>(partners.map((p) => [p, []]));
  const deleted = new Set<string>();

  const flush = async (records: { id: string; record: unknown }[]) => {
    if (records.length === 0) return;
    const states = await loadStates(
      deps.sql,
      deps.keys,
      records.map((r) => r.id),
    );
    const now = deps.now();
    // The same reading and the same plan as the workers: what is counted here is what they will do.
    const read = records.flatMap(({ id, record }) => {
      const r = readRecord(id, record);
      if (r.ok) return [{ id, read: r }];
      invalid++;
      return [];
    });
    const partlyInvalid = new Set<string>();
    for (const partner of partners) {
      const toEnqueue: string[] = [];
      const inStep: string[] = [];
      const counts = perPartner[partner]!;
      for (const { id, read: r } of read) {
        const plan = planRead({
          subjectId: id,
          partner,
          read: r,
          state: states.get(id)!,
          policy: deps.policy,
          keys: deps.keys,
          now,
          force: options.force,
          cannotClear: deps.adapters.get(partner)?.cannotClear,
        });
        if (plan.kind === 'invalid') {
          // As a wholly invalid record: counted, nothing enqueued (a worker would only dead-letter it).
          counts.invalid++;
          partlyInvalid.add(id);
          continue;
        }
        const { action } = plan;
        if (isRecordGone(plan)) {
          counts.missing++;
          deletions.get(partner)!.push(id);
          deleted.add(id);
          continue;
        }
        if (action.kind === 'erase') {
          counts.erasures++;
          deletions.get(partner)!.push(id);
          deleted.add(id);
          continue;
        }
        if (action.kind === 'none') {
          if (action.reason === 'unchanged') counts.unchanged++;
          else counts.skipped++;
          // Held and nothing to send (an unsubscribed member in step says no-consent): in step with this policy.
          if (plan.link?.holds && (action.reason === 'unchanged' || action.reason === 'no-consent')) inStep.push(id);
          continue;
        }
        if (action.kind === 'upsert') {
          if (action.create) counts.creates++;
          else counts.updates++;
        } else counts.suppressions++;
        toEnqueue.push(id);
      }
      if (!options.dryRun) await notePolicyDigest(deps.sql, partner, inStep, deps.policy.digest);
      if (!options.dryRun && toEnqueue.length > 0) {
        await deps.enqueue(partner, toEnqueue);
        enqueued += toEnqueue.length;
      }
    }
    invalid += partlyInvalid.size;
    options.onProgress?.({ scanned, invalid, unreadable, perPartner });
  };

  const wanted = options.subjects ? new Set(checkSubjects(options.subjects)) : undefined;
  if (wanted) {
    const ids = [...wanted];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const slice = ids.slice(i, i + CHUNK);
      // Read as the workers read: one subject whose source call fails is counted, never the others.
      const reads = await getRecords(deps.source, slice);
      for (const id of slice) {
        scanned++;
        seen.add(id);
        const read = reads.get(id)!;
        if (read.ok) chunk.push({ id, record: read.record });
        else unreadable++;
      }
      await flush(chunk.splice(0));
    }
  } else {
    for await (const record of deps.source.scan()) {
      scanned++;
      const id = (record as { id?: unknown })?.id;
      if (typeof id !== 'string') {
        invalid++;
        continue;
      }
      seen.add(id);
      chunk.push({ id, record });
      if (chunk.length >= CHUNK) await flush(chunk.splice(0));
    }
  }
  await flush(chunk.splice(0));

  if (!wanted) {
    // Subjects partners still hold but the source no longer has: desired state is absent.
    const orphans = (
      await deps.sql.query<{ subject_id: string }>(
        `select distinct subject_id from links where holds and partner = any($1::text[])`,
        [partners],
      )
    )
      .map((r) => r.subject_id)
      .filter((id) => !seen.has(id));
    for (let i = 0; i < orphans.length; i += CHUNK)
      await flush(orphans.slice(i, i + CHUNK).map((id) => ({ id, record: null })));
  }
  const limit = deps.deletionLimit ?? DEFAULT_DELETION_LIMIT;
  const held = await heldSubjects(deps.sql, partners);
  const over = overLimit(deleted.size, Math.max(held, scanned), limit);
  const refused = over && !options.allowMassDeletion;
  if (!options.dryRun && !refused) {
    for (const [partner, ids] of deletions) {
      for (let i = 0; i < ids.length; i += CHUNK) await deps.enqueue(partner, ids.slice(i, i + CHUNK));
      enqueued += ids.length;
    }
  }
  return {
    dryRun: options.dryRun ?? false,
    partnerWithdrawals,
    scanned,
    invalid,
    unreadable,
    perPartner,
    enqueued,
    correlationId,
    deletions: { subjects: deleted.size, held, limit, refused, overridden: over && !refused },
  };
}

export function overLimit(subjects: number, held: number, limit: DeletionLimit): boolean {
  if (subjects > limit.count) return true;
  return subjects >= 3 && subjects / Math.max(1, held) > limit.share;
}

async function heldSubjects(sql: Sql, partners: readonly string[]): Promise<number> {
  const [row] = await sql.query<{ n: number }>(
    `select count(distinct subject_id)::int as n from links where holds and partner = any($1::text[])`,
    [partners],
  );
  return row?.n ?? 0;
}

/** Every id checked before anything is enqueued; the error names the position, never the value. */
function checkSubjects(subjects: readonly unknown[]): string[] {
  return subjects.map((id, i) => {
    try {
      return inputs.subjectId(id);
    } catch (error) {
      throw new LifecycleInputError(`resync subjects[${i}]: ${(error as Error).message}`, { cause: error });
    }
  });
}

function selectPartners(deps: ResyncDeps, partner: ResyncOptions['partner']): string[] {
  const all = deps.policy.partnerNames.filter((p) => deps.adapters.has(p));
  if (partner === undefined) return all;
  const wanted = Array.isArray(partner) ? partner : [partner as string];
  for (const p of wanted)
    if (!deps.adapters.has(p)) throw new Error(`unknown partner ${p}: expected one of ${all.join(', ')}`);
  return wanted;
}
