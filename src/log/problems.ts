/**
 * What verify found, as an operator needs it: what kind of tampering, where (chain position, seq),
 * and in words. A run of the same finding at consecutive positions (every row after a deletion that
 * renumbered the chain, say) is one problem over a range, not thousands.
 */
export type ProblemKind =
  /** Positions missing inside the chain. */
  | 'rows_missing'
  /** A row's content no longer matches its content hash. */
  | 'row_edited'
  /** A row without a valid writer's tag: inserted by hand, or edited and re-hashed. */
  | 'row_forged'
  /** A link that does not follow the row before it: deleted, inserted or reordered rows, a recomputed chain. */
  | 'chain_broken'
  /** An emptied row without a valid retention purge signature. */
  | 'purge_forged'
  /** The chain head is missing, moved, or its signature does not match. */
  | 'head_forged'
  /** Rows gone from the end of the chain. */
  | 'tail_missing'
  /** The log is empty or was started again, though it held rows. */
  | 'log_wiped'
  /** A checkpoint's position no longer holds the row it recorded. */
  | 'rewritten'
  /** A checkpoint whose own signature does not match. */
  | 'checkpoint_invalid'
  /** Signed with an audit key this process does not have. */
  | 'key_unknown'
  /** Signed rows, checked without the audit key. */
  | 'needs_key';

export interface VerifyProblem {
  readonly kind: ProblemKind;
  /** The chain position, or a range `first..last`; null when the problem has no position. */
  readonly chainPos: string | null;
  /** The seq of the (first) row concerned, when there is one. */
  readonly seq: string | null;
  readonly problem: string;
}

interface Finding {
  kind: ProblemKind;
  from: bigint | null;
  to: bigint | null;
  seq: string | null;
  text: string;
}

/** Problems kept in full; beyond this they are counted (a wholly rewritten log would list millions). */
export const MAX_PROBLEMS = 1_000;

export class Problems {
  readonly #findings: Finding[] = [];
  /** The latest finding of each kind and text, to extend while positions follow on. */
  readonly #runs = new Map<string, Finding>();
  #omitted = 0;

  get count(): number {
    return this.#findings.length + this.#omitted;
  }

  get omitted(): number {
    return this.#omitted;
  }

  has(kind: ProblemKind): boolean {
    return this.#findings.some((f) => f.kind === kind);
  }

  /** At a chain position: extends the same finding at the position before, if there is one. */
  at(kind: ProblemKind, pos: bigint, seq: string | null, text: string): void {
    const key = `${kind}\n${text}`;
    const run = this.#runs.get(key);
    if (run && run.to !== null && run.to + 1n === pos) {
      run.to = pos;
      return;
    }
    const finding = { kind, from: pos, to: pos, seq, text };
    this.#runs.set(key, finding);
    this.#push(finding);
  }

  /** Without a position (a refused row, the head, a checkpoint). */
  add(kind: ProblemKind, text: string, seq: string | null = null): void {
    this.#push({ kind, from: null, to: null, seq, text });
  }

  #push(finding: Finding): void {
    if (this.#findings.length >= MAX_PROBLEMS) this.#omitted++;
    else this.#findings.push(finding);
  }

  list(): VerifyProblem[] {
    return this.#findings.map((f) => ({
      kind: f.kind,
      chainPos: f.from === null ? null : f.from === f.to ? f.from.toString() : `${f.from}..${f.to}`,
      seq: f.seq,
      problem:
        f.from !== null && f.to !== null && f.to > f.from
          ? `${f.text} (positions ${f.from}..${f.to}, ${f.to - f.from + 1n} rows)`
          : f.text,
    }));
  }
}
