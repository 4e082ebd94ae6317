import {
  PartnerError,
  type CallContext,
  type PartnerAdapter,
  type PartnerPayload,
  type SubjectRef,
  type UpsertInput,
} from '../../src/adapter.ts';

export interface RecordedCall {
  readonly operation: 'upsert' | 'upsert_batch' | 'erase' | 'suppress' | 'restrict' | 'unrestrict' | 'fetch' | 'act';
  readonly ref: SubjectRef;
  readonly payload?: PartnerPayload;
  readonly subscription?: string;
  readonly ctx: CallContext;
}

/**
 * An in-memory partner for pipeline tests: records every call with exactly what it was given, and
 * holds what a real partner would. `failNext` makes the next calls fail the way a partner would.
 */
export class MemoryAdapter implements PartnerAdapter {
  readonly partner: string;
  readonly retainedAfterErasure: readonly string[] = [];
  readonly calls: RecordedCall[] = [];
  readonly held = new Map<string, { payload: PartnerPayload; status?: string; archived?: boolean }>();
  readonly maxBatchSize?: number;
  upsertBatch?: PartnerAdapter['upsertBatch'];
  #failures: PartnerError[] = [];
  #next = 1;

  constructor(partner: string, options: { batch?: number } = {}) {
    this.partner = partner;
    if (options.batch) {
      this.maxBatchSize = options.batch;
      this.upsertBatch = async (inputs, ctx) => {
        this.calls.push({ operation: 'upsert_batch', ref: inputs[0]!.ref, ctx });
        const failure = this.#failures.shift();
        if (failure) throw failure;
        return inputs.map((input) => ({ ok: true as const, ...this.#store(input) }));
      };
    }
  }

  failNext(...errors: PartnerError[]): void {
    this.#failures.push(...errors);
  }

  async upsert(input: UpsertInput, ctx: CallContext) {
    this.calls.push({
      operation: 'upsert',
      ref: input.ref,
      payload: input.payload,
      ...(input.subscription ? { subscription: input.subscription } : {}),
      ctx,
    });
    const failure = this.#failures.shift();
    if (failure) throw failure;
    return this.#store(input);
  }

  async erase(ref: SubjectRef, _mode: string, ctx: CallContext) {
    this.calls.push({ operation: 'erase', ref, ctx });
    const failure = this.#failures.shift();
    if (failure) throw failure;
    for (const id of ref.partnerIds) this.held.delete(id);
    return { removed: [...ref.partnerIds] };
  }

  async suppress(ref: SubjectRef, ctx: CallContext) {
    this.calls.push({ operation: 'suppress', ref, ctx });
    const id = ref.partnerIds[0] ?? `${this.partner}-missing`;
    const entry = this.held.get(id);
    if (entry) entry.status = 'unsubscribed';
    return { partnerId: id };
  }

  /** Every partner's adapter here has a restriction mechanism; the policy says whether it is used. */
  async restrict(ref: SubjectRef, ctx: CallContext) {
    this.calls.push({ operation: 'restrict', ref, ctx });
    for (const id of ref.partnerIds) {
      const entry = this.held.get(id);
      if (entry) entry.archived = true;
    }
    return { partnerIds: [...ref.partnerIds] };
  }

  async unrestrict(ref: SubjectRef, ctx: CallContext) {
    this.calls.push({ operation: 'unrestrict', ref, ctx });
    for (const id of ref.partnerIds) {
      const entry = this.held.get(id);
      if (entry) entry.archived = false;
    }
    return { partnerIds: [...ref.partnerIds] };
  }

  async fetch(ref: SubjectRef) {
    const entry = ref.partnerIds.map((id) => this.held.get(id)).find(Boolean);
    return { found: Boolean(entry), fields: { ...(entry?.payload ?? {}) } };
  }

  callsFor(pseudonym: string): RecordedCall[] {
    return this.calls.filter((c) => c.ref.pseudonym === pseudonym);
  }

  #store(input: UpsertInput) {
    const existing = input.ref.partnerIds.find((id) => this.held.has(id));
    const id = existing ?? `${this.partner}-${this.#next++}`;
    const previous = this.held.get(id);
    this.held.set(id, {
      payload: input.payload,
      ...((input.subscription ?? previous?.status) ? { status: input.subscription ?? previous?.status } : {}),
    });
    return { partnerId: id, created: !existing };
  }
}

export const retryable = (partner: string, retryAfterMs?: number) =>
  new PartnerError({
    partner,
    operation: 'upsert',
    kind: 'retryable',
    status: 503,
    code: 'unavailable',
    ...(retryAfterMs ? { retryAfterMs } : {}),
  });
export const permanent = (partner: string) =>
  new PartnerError({ partner, operation: 'upsert', kind: 'permanent', status: 400, code: 'invalid' });
