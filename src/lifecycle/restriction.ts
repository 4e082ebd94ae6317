import { inputs } from './inputs.ts';
import type { Lifecycle, LifecycleDeps } from './types.ts';

/**
 * Restriction ("blocking", GDPR Art. 18): nothing new is sent while it lasts (reconcile reads
 * subjects.restricted_at), and every partner that may hold the subject is told (Art. 19) through the
 * reconcile path, by its restriction behaviour in the policy: Mailchimp unsubscribes the member,
 * Intercom archives the contact, the others keep what they hold (logged as having no restriction
 * mechanism). Unrestrict undoes each and restores the consented state. The reason stays in the
 * subjects row, never in the log: it is free text and may say something about the person.
 */
export function createRestriction(deps: LifecycleDeps): Pick<Lifecycle, 'restrict' | 'unrestrict'> {
  return {
    restrict: async (subjectId, reason, options = {}) => {
      const id = inputs.subjectId(subjectId);
      const why = inputs.reason(reason, 'restriction reason');
      const operator = inputs.operator(options.operator);
      // The first restriction's time stands: a second call only updates the reason.
      await deps.db.query(
        `insert into subjects (id, restricted_at, restriction_reason) values ($1, $2, $3)
         on conflict (id) do update set restricted_at = coalesce(subjects.restricted_at, excluded.restricted_at), restriction_reason = excluded.restriction_reason`,
        [id, deps.now(), why],
      );
      await deps.logEvent({
        subjectId: id,
        operation: 'restrict',
        trigger: 'restriction',
        ...(operator ? { operator } : {}),
      });
      await tellPartners(deps, id, operator);
    },
    unrestrict: async (subjectId, options = {}) => {
      const id = inputs.subjectId(subjectId);
      const operator = inputs.operator(options.operator);
      await deps.db.query(`update subjects set restricted_at = null, restriction_reason = null where id = $1`, [id]);
      await deps.logEvent({
        subjectId: id,
        operation: 'unrestrict',
        trigger: 'restriction',
        ...(operator ? { operator } : {}),
      });
      // Each partner undoes its restriction behaviour, and whatever changed while restricted (a
      // rectification, a withdrawal) reaches it now.
      await tellPartners(deps, id, operator);
    },
  };
}

/** A reconcile job at every partner with an adapter (action and collect-only partners are told too). */
async function tellPartners(deps: LifecycleDeps, id: string, operator: string | undefined): Promise<void> {
  const partners = deps.policy.partnerNames.filter((p) => deps.adapters.has(p));
  if (partners.length > 0)
    await deps.enqueueSubject(id, 'restriction', { partners, ...(operator ? { operator } : {}) });
}
