import { RESERVED_SLOT, type Slot } from '../log/transfer-log.ts';
import { erasedParams, erasedQuery } from '../store/erased.ts';
import { inputs, LifecycleInputError } from './inputs.ts';
import type { ConsentEntry, ConsentInput, Lifecycle, LifecycleDeps } from './types.ts';

/**
 * The consent ledger: append-only, the latest entry per (subject, purpose) wins (reconcile reads it
 * that way). The ledger is the only thing that can put a subscription status in a partner call, so a
 * grant or withdrawal here is the whole of consent handling: the reconcile jobs enqueued below turn
 * it into a subscribe, an unsubscribe or an erasure at every partner that relies on the purpose.
 */
export function createConsent(deps: LifecycleDeps): Lifecycle['consent'] {
  const record = async (
    subjectId: string,
    purpose: string,
    status: ConsentEntry['status'],
    input: ConsentInput,
  ): Promise<ConsentEntry> => {
    const id = inputs.subjectId(subjectId);
    consentPurpose(deps, purpose);
    const source = inputs.source(input?.source);
    const evidence = inputs.evidence(input?.evidence);
    const operator = inputs.operator(input?.operator) ?? null;
    const at = deps.now();
    // One statement: the erased check (a grant cannot revive an erased subject; recording it would
    // only keep data we must not have), the subjects row, the ledger entry, and the seq and time of
    // its log row, so a grant costs three round trips (this, the log row, the jobs), not eight.
    const [row] = await deps.db.query<Slot & { id: string | null }>(
      `with erased as (${erasedQuery(8)}),
       refused as (select $11::boolean and exists (select 1 from erased) as refused),
       subject as (insert into subjects (id) select $1 from refused where not refused on conflict (id) do nothing),
       entry as (
         insert into consent_ledger (subject_id, purpose, status, source, evidence, operator, at)
         select $1, $2, $3, $4, $5, $6, $7 from refused where not refused
         returning id::text as id)
       select (select id from entry) as id, slot.* from ${RESERVED_SLOT} slot`,
      [id, purpose, status, source, evidence, operator, at, ...erasedParams(deps.keys, [id]), status === 'granted'],
    );
    if (!row?.id) throw new LifecycleInputError(`subject ${id} is erased: a consent grant cannot be recorded for it`);
    const entry = { id: row.id, subjectId: id, purpose, status, source, evidence, operator, at } satisfies ConsentEntry;
    await deps.logEvent(
      {
        subjectId: id,
        operation: status === 'granted' ? 'consent_grant' : 'consent_withdraw',
        trigger: 'consent',
        purpose,
        legalBasis: 'consent',
        ...(operator ? { operator } : {}),
      },
      { seq: row.seq, at: row.at, at_us: row.at_us },
    );
    const partners = consentPartners(deps, purpose);
    // A withdrawal must reach every partner relying on the purpose now, not at the next resync.
    if (partners.length > 0) await deps.enqueueSubject(id, 'consent', { partners, ...(operator ? { operator } : {}) });
    return entry;
  };

  return {
    grant: (subjectId, purpose, input) => record(subjectId, purpose, 'granted', input),
    withdraw: (subjectId, purpose, input) => record(subjectId, purpose, 'withdrawn', input),
    history: async (subjectId) => consentHistory(deps, inputs.subjectId(subjectId)),
  };
}

export async function consentHistory(deps: Pick<LifecycleDeps, 'db'>, subjectId: string): Promise<ConsentEntry[]> {
  const rows = await deps.db.query<{
    id: string;
    purpose: string;
    status: ConsentEntry['status'];
    source: string;
    evidence: string | null;
    operator: string | null;
    at: Date;
  }>(
    `select id::text as id, purpose, status, source, evidence, operator, at from consent_ledger where subject_id = $1 order by consent_ledger.id`,
    [subjectId],
  );
  return rows.map((r) => ({ ...r, subjectId, at: new Date(r.at) }));
}

/** Partners with an adapter whose processing rests on consent for this purpose. */
export function consentPartners(deps: Pick<LifecycleDeps, 'policy' | 'adapters'>, purpose: string): string[] {
  return deps.policy.partnerNames.filter(
    (p) => deps.adapters.has(p) && deps.policy.partner(p).consent?.purpose === purpose,
  );
}

function consentPurpose(deps: Pick<LifecycleDeps, 'policy'>, purpose: unknown): void {
  const purposes = deps.policy.document.purposes;
  const consentBased = Object.keys(purposes).filter((p) => purposes[p]!.legalBasis === 'consent');
  // Echo the purpose only when it has the shape of a policy key (it is the caller's input).
  const name = typeof purpose === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(purpose) ? purpose : undefined;
  const known = name ? purposes[name] : undefined;
  if (!known) {
    throw new LifecycleInputError(
      `${name ? `unknown purpose ${name}` : 'invalid purpose'}: consent purposes in the policy are ${consentBased.join(', ') || '(none)'}`,
    );
  }
  if (known.legalBasis !== 'consent') {
    throw new LifecycleInputError(
      `purpose ${name} rests on ${known.legalBasis}, not consent: consent can be recorded only for ${consentBased.join(', ') || '(none)'}`,
    );
  }
}
