import { inputs, LifecycleInputError } from './inputs.ts';
import type { ErasureStatus, Lifecycle, LifecycleDeps, LifecycleInternals } from './types.ts';

/**
 * An operator's record that they erased a subject by hand at a partner of the policy this gateway
 * has no adapter for. Until one is recorded, the erasure says "incomplete" and names the partner:
 * the gateway cannot look there, so only a person can say it is done. Logged in the transfer log
 * with the operator; the reason is kept in the manual_erasures row, never in the log.
 */
export function createManualErasure(
  deps: LifecycleDeps,
  erasure: Pick<Lifecycle, 'erasureStatus'> & LifecycleInternals,
): Lifecycle['recordManualErasure'] {
  return async (subjectId, partner, options) => {
    const id = inputs.subjectId(subjectId);
    const operator = inputs.operator(options?.operator);
    if (!operator) throw new LifecycleInputError('operator is required: a manual erasure names who did it');
    const reason = inputs.reason(options?.reason, 'manual erasure reason');
    if (typeof partner !== 'string' || !deps.policy.partnerNames.includes(partner))
      throw new LifecycleInputError(`partner must be one of the policy's: ${deps.policy.partnerNames.join(', ')}`);
    if (deps.adapters.has(partner))
      throw new LifecycleInputError(
        `${partner} has an adapter: the gateway erases there itself and records what the partner confirms`,
      );
    const before: ErasureStatus = await erasure.erasureStatus(id);
    if (!before.missing.some((m) => m.kind === 'no-adapter' && m.partner === partner))
      throw new LifecycleInputError(`no erasure of this subject is waiting for ${partner}`);
    await deps.db.query(
      `insert into manual_erasures (subject_id, partner, at, operator, reason) values ($1, $2, $3, $4, $5)
       on conflict (subject_id, partner) do nothing`,
      [id, partner, deps.now(), operator, reason],
    );
    await deps.logEvent({ subjectId: id, partner, operation: 'manual_erasure', trigger: 'ops', operator });
    // The same completion check a partner's confirmed erase triggers: this may have been the last gap.
    await erasure.onPartnerErased(id, partner);
    return erasure.erasureStatus(id);
  };
}
