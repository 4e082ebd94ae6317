import type { CallContext, PartnerAdapter, SubjectRef } from '../adapter.ts';
import type { RetiredPseudonymKey } from '../keys.ts';
import { idempotencyKey } from '../transfer/idempotency.ts';
import type { MemberResult, TransferMember, TransferUnit } from '../transfer/transfer.ts';
import type { RotationDeps } from './deps.ts';

/**
 * The rotation's calls under the old pseudonym, through transfer like every call (intent and outcome
 * rows in the signed log, pacing, the partner's limits): erasing what a partner keyed by the
 * pseudonym holds under the old one, and searching a partner that keeps it as an attribute.
 */
export type OldCallResult =
  { readonly ids: readonly string[] } | { readonly error: string; readonly permanent: boolean };

interface Run {
  readonly correlationId: string;
  readonly operator: string | undefined;
}

export function eraseUnderOld(
  deps: RotationDeps,
  adapter: PartnerAdapter,
  old: RetiredPseudonymKey,
  run: Run,
  subjectIds: readonly string[],
): Promise<Map<string, OldCallResult>> {
  return callUnderOld(deps, adapter, old, run, subjectIds, 'erase_old_pseudonym', async (ref, ctx) => {
    // E-logistik erases by the pseudonym; "already gone" is success.
    const { removed } = await adapter.erase(ref, 'delete', ctx);
    return removed;
  });
}

export function findUnderOld(
  deps: RotationDeps,
  adapter: PartnerAdapter,
  old: RetiredPseudonymKey,
  run: Run,
  pairs: readonly { readonly subjectId: string }[],
): Promise<Map<string, OldCallResult>> {
  return callUnderOld(
    deps,
    adapter,
    old,
    run,
    pairs.map((p) => p.subjectId),
    'find',
    (ref, ctx) => adapter.find!(ref, ctx),
  );
}

async function callUnderOld(
  deps: RotationDeps,
  adapter: PartnerAdapter,
  old: RetiredPseudonymKey,
  run: Run,
  subjectIds: readonly string[],
  operation: string,
  call: (ref: SubjectRef, ctx: CallContext) => Promise<readonly string[]>,
): Promise<Map<string, OldCallResult>> {
  const partner = adapter.partner;
  const units = subjectIds.map((subjectId): TransferUnit => {
    const pseudonym = old.pseudonym(partner, subjectId);
    // Keyed ids only where the partner keys by the pseudonym: there it is the partner's id.
    const ref: SubjectRef = { pseudonym, partnerIds: adapter.pseudonymUse === 'key' ? [pseudonym] : [] };
    const member: TransferMember = {
      subjectId,
      sendsData: false,
      intent: {
        operation,
        trigger: 'ops',
        operator: run.operator,
        correlationId: run.correlationId,
        fields: [],
        categories: [],
        payloadDigest: undefined,
        partnerId: adapter.pseudonymUse === 'key' ? pseudonym : undefined,
        attempt: 1,
      },
    };
    return {
      operation,
      correlationId: run.correlationId,
      idempotencyKey: idempotencyKey(deps.keys, partner, operation, { subject: pseudonym }),
      members: [member],
      call: async (ctx): Promise<MemberResult[]> => [{ ok: true, partnerIds: [...(await call(ref, ctx))] }],
    };
  });
  const settled = (await deps.transfer.run(partner, units)).flat();
  return new Map(
    settled.map((s): [string, OldCallResult] => {
      const subjectId = s.member.subjectId;
      if (s.outcome === 'skipped') return [subjectId, { ids: [] }];
      return [
        subjectId,
        s.result.ok
          ? { ids: s.result.partnerIds }
          : { error: s.result.error.message, permanent: s.result.error.kind === 'permanent' },
      ];
    }),
  );
}
