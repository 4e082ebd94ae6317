import { bySeq, OPEN_INTENTS, RESERVED_SLOTS, type OpenIntent, type Slot } from '../log/transfer-log.ts';
import type { Sql } from '../store/database.ts';
import { erasedParams, erasedQuery, type ErasureMarks } from '../store/erased.ts';
import { KEY_STATE_ROWS, keyStateOf, type PseudonymKeyState } from '../store/key-fingerprints.ts';

/** What the transaction that writes a call's intents reads before it writes them. */
export interface IntentPrelude {
  /** The store's pseudonym key state now (the caller checks it did not change under it). */
  readonly keyState: PseudonymKeyState;
  /** Intents of these subjects at the partner with no outcome: attempts that died, in seq order. */
  readonly open: readonly OpenIntent[];
  /** The senders that are erased (nothing is sent for them). */
  readonly erased: ReadonlySet<string>;
  /** A seq and time for each intent that may be written, in seq order. */
  readonly slots: readonly Slot[];
}

/**
 * All of it in one statement, so the intent transaction is begin, this, the insert and commit: each
 * read on its own was a round trip on every call's way to the partner (an erasure waits for its
 * slowest partner, so for every one of them).
 */
export async function readIntentPrelude(
  tx: Sql,
  keys: ErasureMarks,
  input: {
    readonly partner: string;
    readonly subjectIds: readonly string[];
    readonly senders: readonly string[];
    readonly intents: number;
  },
): Promise<IntentPrelude> {
  const agg = (query: string, order = '') => `(select coalesce(json_agg(x ${order}), '[]'::json) from (${query}) x)`;
  const [row] = await tx.query<{
    keys: { name: string; fingerprint: string }[];
    open: OpenIntent[];
    erased: { id: string }[];
    slots: Slot[];
  }>(
    `select ${agg(KEY_STATE_ROWS)} as keys,
       ${agg(OPEN_INTENTS('$1', '$2'), 'order by x.seq::bigint')} as open,
       ${agg(erasedQuery(3))} as erased,
       ${agg(RESERVED_SLOTS('$6'))} as slots`,
    [[...input.subjectIds], input.partner, ...erasedParams(keys, input.senders), input.intents],
  );
  return {
    keyState: keyStateOf(row!.keys),
    open: row!.open,
    erased: new Set(row!.erased.map((e) => e.id)),
    slots: [...row!.slots].sort(bySeq),
  };
}
