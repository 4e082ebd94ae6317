import type { PartnerAdapter } from './adapter.ts';
import type { Keys } from './keys.ts';
import type { Policy } from './policy/index.ts';
import { IdSet } from './id-set.ts';
import { inputs, LifecycleInputError } from './lifecycle/inputs.ts';
import { isRecordGone } from './plan/missing.ts';
import {
  recordPartnerWithdrawals,
  type PartnerWithdrawalCounts,
  type PartnerWithdrawalDeps,
} from './partner-withdrawals.ts';
import { decideRead, readRecord } from './plan/plan.ts';
import { getRecords, type RecordSource } from './source.ts';
import type { Sql } from './store/database.ts';
import { loadStates, notePolicyDigest, type SubjectState } from './store/state.ts';

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
  /** Subjects per chunk of the scan, held subjects per page of the search for orphans (tests cross their edges). */
  readonly pages?: { readonly chunk?: number; readonly orphans?: number } | undefined;
}

/**
 * Subjects per chunk of the scan. Small enough that a chunk's records, stored state and plans die
 * young (V8 collects them in the young generation instead of promoting them to the old one and
 * growing the heap around garbage), large enough that each chunk's few statements are cheap.
 */
const CHUNK_SIZE = 100;
/** Held subjects per page of the search for the ones the source no longer has. */
const ORPHAN_PAGE_SIZE = 5_000;
/**
 * Jobs per enqueue: deletions once the scan has shown they stay under the limit, and the others as
 * they collect over the chunks (one insert per chunk per partner was most of the queue's cost of a
 * resync of new subjects).
 */
const ENQUEUE_BATCH = 1_000;

type Chunk = readonly { readonly id: string; readonly record: unknown }[];

/**
 * Streams the source, decides in bulk which (subject, partner) pairs differ, and enqueues jobs only
 * for those: unchanged subjects cost a digest and no partner call (DESIGN §3). The same reconcile()
 * the workers run makes the decision here, so a dry run counts exactly what a real run would do.
 * Memory stays bounded whatever the source's size: one chunk is planned while the next one's stored
 * state loads, and the ids seen are kept off the JS heap (IdSet) for the search for orphans.
 */
export async function resync(deps: ResyncDeps, options: ResyncOptions, correlationId: string): Promise<ResyncSummary> {
  const partners = selectPartners(deps, options.partner);
  const CHUNK = deps.pages?.chunk ?? CHUNK_SIZE;
  const ORPHAN_PAGE = deps.pages?.orphans ?? ORPHAN_PAGE_SIZE;
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
  let scanned = 0;
  let invalid = 0;
  let unreadable = 0;
  let enqueued = 0;
  // Deletions wait for the end of the scan: only then is it known whether they stay under the limit.
  const deletions = new Map<string, string[]>(partners.map((p) => [p, []]));
  const deleted = new Set<string>();
  // Jobs decided but not yet enqueued, per partner. A resync that fails leaves them to the next one,
  // which decides them again from the same stored state.
  const pending = new Map<string, string[]>(partners.map((p) => [p, []]));
  const enqueuePending = async (partner: string) => {
    const ids = pending.get(partner)!.splice(0);
    if (ids.length === 0) return;
    await deps.enqueue(partner, ids);
    enqueued += ids.length;
  };

  const plan = async (
    records: Chunk,
    states: Map<string, SubjectState>,
    progress: { scanned: number; unreadable: number },
  ) => {
    const now = deps.now();
    // The same reading and the same decision as the workers: what is counted here is what they will do.
    const read = records.flatMap(({ id, record }) => {
      const r = readRecord(id, record);
      if (r.ok) return [{ id, read: r }];
      invalid++;
      return [];
    });
    const partlyInvalid = new Set<string>();
    for (const partner of partners) {
      const toEnqueue: string[] = [];
      const toNote: string[] = [];
      const counts = perPartner[partner]!;
      for (const { id, read: r } of read) {
        const decision = decideRead({
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
        if (decision.kind === 'invalid') {
          // As a wholly invalid record: counted, nothing enqueued (a worker would only dead-letter it).
          counts.invalid++;
          partlyInvalid.add(id);
          continue;
        }
        const { action, link } = decision;
        if (isRecordGone(decision)) {
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
          // Held and nothing to send (an unsubscribed member in step says no-consent): in step with this
          // policy; noted when the link does not say so yet (so an unchanged store costs no write).
          if (
            link?.holds &&
            (action.reason === 'unchanged' || action.reason === 'no-consent') &&
            link.policyDigest !== deps.policy.digest
          )
            toNote.push(id);
          continue;
        }
        if (action.kind === 'upsert') {
          if (action.create) counts.creates++;
          else counts.updates++;
        } else counts.suppressions++;
        toEnqueue.push(id);
      }
      if (!options.dryRun && toNote.length > 0) await notePolicyDigest(deps.sql, partner, toNote, deps.policy.digest);
      if (!options.dryRun && toEnqueue.length > 0) {
        const buffer = pending.get(partner)!;
        buffer.push(...toEnqueue);
        if (buffer.length >= ENQUEUE_BATCH) await enqueuePending(partner);
      }
    }
    invalid += partlyInvalid.size;
    options.onProgress?.({ ...progress, invalid, perPartner });
  };

  // A two-stage pipeline: chunk n + 1's stored state loads (in the database) while chunk n is planned
  // (here), so neither waits for the other; at most two chunks are in memory.
  let planned: Promise<void> = Promise.resolve();
  const flush = async (records: Chunk) => {
    if (records.length === 0) return;
    const states = loadStates(
      deps.sql,
      deps.keys,
      records.map((r) => r.id),
    );
    // Settles with the chunk's states; a failed load fails the chain below, never unhandled here.
    states.catch(() => undefined);
    const previous = planned;
    const progress = { scanned, unreadable };
    planned = (async () => {
      await previous;
      await plan(records, await states, progress);
    })();
    // A failure surfaces where the chain is awaited (the next flush, or the end), never unhandled.
    planned.catch(() => undefined);
    await previous;
  };

  const wanted = options.subjects ? new Set(checkSubjects(options.subjects)) : undefined;
  // Every id the source gave, for the search for orphans below (not needed with a list of subjects).
  const seen = wanted ? undefined : new IdSet();
  let chunk: { id: string; record: unknown }[] = [];
  if (wanted) {
    const ids = [...wanted];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const slice = ids.slice(i, i + CHUNK);
      // Read as the workers read: one subject whose source call fails is counted, never the others.
      const reads = await getRecords(deps.source, slice);
      for (const id of slice) {
        scanned++;
        const read = reads.get(id)!;
        if (read.ok) chunk.push({ id, record: read.record });
        else unreadable++;
      }
      await flush(chunk);
      chunk = [];
    }
  } else {
    for await (const record of deps.source.scan()) {
      scanned++;
      const id = (record as { id?: unknown })?.id;
      if (typeof id !== 'string') {
        invalid++;
        continue;
      }
      seen!.add(id);
      chunk.push({ id, record });
      if (chunk.length >= CHUNK) {
        await flush(chunk);
        chunk = [];
      }
    }
  }
  await flush(chunk);

  // Subjects partners still hold but the source no longer has: desired state is absent. Held subjects
  // are read a page at a time in key order (the primary key's), never all at once; counting them
  // gives the base of the deletion share as well.
  const orphansAndHeld = async (seen: IdSet): Promise<number> => {
    let held = 0;
    for (let after: string | null = null; ;) {
      const page: { subject_id: string }[] = await deps.sql.query<{ subject_id: string }>(
        `select subject_id from links where holds and partner = any($1::text[]) ${after === null ? '' : 'and subject_id > $3'}
         group by subject_id order by subject_id limit $2`,
        after === null ? [partners, ORPHAN_PAGE] : [partners, ORPHAN_PAGE, after],
      );
      if (page.length === 0) break;
      held += page.length;
      after = page[page.length - 1]!.subject_id;
      const orphans = page.filter((r) => !seen.has(r.subject_id));
      for (let i = 0; i < orphans.length; i += CHUNK)
        await flush(orphans.slice(i, i + CHUNK).map((r) => ({ id: r.subject_id, record: null })));
      if (page.length < ORPHAN_PAGE) break;
    }
    return held;
  };
  const held = seen ? await orphansAndHeld(seen) : await heldSubjects(deps.sql, partners);
  await planned;
  for (const partner of partners) await enqueuePending(partner);
  const limit = deps.deletionLimit ?? DEFAULT_DELETION_LIMIT;
  const over = overLimit(deleted.size, Math.max(held, scanned), limit);
  const refused = over && !options.allowMassDeletion;
  if (!options.dryRun && !refused) {
    for (const [partner, ids] of deletions) {
      for (let i = 0; i < ids.length; i += ENQUEUE_BATCH) await deps.enqueue(partner, ids.slice(i, i + ENQUEUE_BATCH));
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
