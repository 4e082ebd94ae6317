import { consentHistory } from './consent.ts';
import { erasureStatuses } from './erasure-state.ts';
import { inputs } from './inputs.ts';
import { fetchLive } from './access-report-live.ts';
import type { AccessReport, AccessReportPartner, LifecycleDeps } from './types.ts';

/**
 * The access report (right of access): per partner in the policy, what the policy says it holds, what
 * the gateway last sent and every transfer logged, and, on request, what the partner itself returns
 * now. Built from the gateway's own records; only the live part calls partners.
 */
export async function buildAccessReport(
  deps: LifecycleDeps,
  subjectId: string,
  options: { live?: boolean } = {},
): Promise<AccessReport> {
  const id = inputs.subjectId(subjectId);
  const generatedAt = deps.now();
  const [subjects, links, transfers, consent, erasure] = await Promise.all([
    deps.db.query<{ restricted_at: Date | null; restriction_reason: string | null; erasure_due_at: Date | null }>(
      `select restricted_at, restriction_reason, erasure_due_at from subjects where id = $1`,
      [id],
    ),
    deps.db.query<{
      partner: string;
      holds: boolean;
      partner_ids: string[] | string;
      last_sent_at: Date | null;
      last_fields: string[];
    }>(`select partner, holds, partner_ids, last_sent_at, last_fields from links where subject_id = $1`, [id]),
    // Each intent with its outcome (none yet: in flight, or the process died before writing it).
    deps.db.query<{
      partner: string;
      at: Date;
      operation: string;
      trigger: string;
      outcome: string | null;
      fields: string[];
    }>(
      `select i.partner, i.at, i.operation, i.trigger, o.outcome, i.fields from transfer_log i
       left join transfer_log o on o.kind = 'outcome' and o.subject_id = i.subject_id and o.intent_seq = i.seq
       where i.kind = 'intent' and i.subject_id = $1 and i.purged_at is null order by i.seq`,
      [id],
    ),
    consentHistory(deps, id),
    erasureStatuses(deps, [id]),
  ]);
  const subject = subjects[0];
  const erasureStatus = erasure.get(id)!;
  const underErasure = erasureStatus.tombstoned || erasureStatus.dueAt !== null;

  const partners: AccessReportPartner[] = [];
  for (const partner of deps.policy.partnerNames) {
    const p = deps.policy.partner(partner);
    const link = links.find((l) => l.partner === partner);
    const adapter = deps.adapters.get(partner);
    const partnerIds = link
      ? typeof link.partner_ids === 'string'
        ? (JSON.parse(link.partner_ids) as string[])
        : link.partner_ids
      : [];
    const live = options.live && adapter?.fetch ? await fetchLive(deps, adapter, id, partnerIds) : undefined;
    partners.push({
      partner,
      displayName: p.displayName,
      purpose: p.purpose,
      legalBasis: deps.policy.legalBasis(partner),
      sentByUs: [...p.sends],
      collectedDirectly: [...p.collects],
      holds: link?.holds ?? false,
      lastSentAt: link?.last_sent_at ? new Date(link.last_sent_at) : null,
      lastSentFields: link?.last_fields ?? [],
      transfers: transfers
        .filter((t) => t.partner === partner)
        .map((t) => ({
          at: new Date(t.at),
          operation: t.operation,
          trigger: t.trigger,
          outcome: t.outcome,
          fields: t.fields,
        })),
      retainedAfterErasure: adapter?.retainedAfterErasure ?? [],
      ...(live ? { live } : {}),
    });
  }

  return {
    subjectId: id,
    generatedAt,
    policyDigest: deps.policy.digest,
    restriction: {
      restricted: Boolean(subject?.restricted_at),
      since: subject?.restricted_at ? new Date(subject.restricted_at) : null,
      reason: subject?.restriction_reason ?? null,
    },
    consent,
    erasure: underErasure ? erasureStatus : null,
    partners,
  };
}
