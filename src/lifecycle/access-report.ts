import type { RestrictionMode } from '../policy/index.ts';
import { sharedPartnerIds } from '../store/state.ts';
import { NOTED_RESTRICTION_OPERATIONS } from '../transfer/reconcile-batch.ts';
import { companyHoldings } from './access-report-company.ts';
import { fetchLive } from './access-report-live.ts';
import { consentHistory } from './consent.ts';
import { erasureStatuses } from './erasure-state.ts';
import { inputs, LifecycleInputError } from './inputs.ts';
import type { MasterRecord } from '../record.ts';
import type { AccessReport, AccessReportPartner, LifecycleDeps, RequestRegister, SubjectRequest } from './types.ts';

/**
 * The access report (right of access, GDPR Art. 15): what the company itself holds (the master
 * record, and what the host says it holds beyond it, camera data above all), per partner in the
 * policy what the policy says it holds, what the gateway last sent, every transfer logged, what a
 * partner that collects directly holds as far as we know, and, on request, what each partner itself
 * returns now, field by field, mapped to the policy's categories; the subject's requests in the
 * register, and the one this report answers. Built from the gateway's own records; only the live
 * part calls partners.
 */
export async function buildAccessReport(
  deps: LifecycleDeps,
  requests: RequestRegister,
  subjectId: string,
  options: { live?: boolean; requestId?: string } = {},
): Promise<AccessReport> {
  const id = inputs.subjectId(subjectId);
  const generatedAt = deps.now();
  const answersRequest = options.requestId === undefined ? null : await requestFor(requests, id, options.requestId);
  const [subjects, links, transfers, consent, erasure, company, register] = await Promise.all([
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
      erased: boolean;
      restriction_applied: RestrictionMode | null;
    }>(
      `select partner, holds, partner_ids, last_sent_at, last_fields, erased_at is not null as erased, restriction_applied
       from links where subject_id = $1`,
      [id],
    ),
    // Each intent with its outcome (none yet: in flight, or the process died before writing it).
    deps.db.query<{
      partner: string;
      at: Date;
      operation: string;
      trigger: string;
      outcome: string | null;
      fields: string[];
    }>(
      // Restriction steps that called nobody (a partner without a restriction mechanism) are events
      // naming the partner: shown with the calls, as noted.
      `select i.partner, i.at, i.operation, i.trigger, case when i.kind = 'event' then 'noted' else o.outcome end as outcome, i.fields
       from transfer_log i
       left join transfer_log o on o.kind = 'outcome' and o.subject_id = i.subject_id and o.intent_seq = i.seq
       where i.subject_id = $1 and i.purged_at is null
         and (i.kind = 'intent' or (i.kind = 'event' and i.partner is not null and i.operation = any($2::text[])))
       order by i.seq`,
      [id, Object.keys(NOTED_RESTRICTION_OPERATIONS)],
    ),
    consentHistory(deps, id),
    erasureStatuses(deps, [id]),
    companyHoldings(deps, id),
    requests.list({ subjectId: id }),
  ]);
  const subject = subjects[0];
  const erasureStatus = erasure.get(id)!;
  const underErasure = erasureStatus.tombstoned || erasureStatus.dueAt !== null;

  const partners: AccessReportPartner[] = [];
  for (const partner of deps.policy.partnerNames) {
    const p = deps.policy.partner(partner);
    const link = links.find((l) => l.partner === partner);
    const adapter = deps.adapters.get(partner);
    const linkIds = link
      ? typeof link.partner_ids === 'string'
        ? (JSON.parse(link.partner_ids) as string[])
        : link.partner_ids
      : [];
    // A record another live subject claims too (one email, two customers) is not shown as this one's:
    // its live answer could be the other person's data. The report says so instead.
    const shared = (await sharedPartnerIds(deps.db, partner, [id])).get(id) ?? new Set<string>();
    const known = link?.erased ? [] : union(linkIds, hostIds(company.record, partner)).filter((i) => !shared.has(i));
    // A partner that collects directly (balena's IP addresses, Twilio's call records) holds what it
    // collected for every id of it we know, whatever the gateway sent it.
    const collectsFor = p.collects.length > 0 ? known : [];
    const live = options.live && adapter?.fetch ? await fetchLive(deps, adapter, id, known) : undefined;
    partners.push({
      partner,
      displayName: p.displayName,
      purpose: p.purpose,
      legalBasis: deps.policy.legalBasis(partner),
      sentByUs: [...p.sends],
      collectedDirectly: [...p.collects],
      holds: (link?.holds ?? false) || collectsFor.length > 0,
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
      collectsFor,
      sharedRecord: shared.size > 0,
      restriction: { behaviour: p.restriction, applied: link?.restriction_applied ?? null },
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
    company: company.report,
    partners,
    requests: register,
    answersRequest,
  };
}

async function requestFor(requests: RequestRegister, subjectId: string, requestId: string): Promise<SubjectRequest> {
  const request = await requests.get(requestId);
  if (request.subjectId !== subjectId)
    throw new LifecycleInputError(`request ${request.id} is another subject’s: it cannot be answered with this report`);
  if (request.kind !== 'access')
    throw new LifecycleInputError(`request ${request.id} is a ${request.kind} request, not an access request`);
  return request;
}

function hostIds(record: MasterRecord | null, partner: string): string[] {
  const ids = record?.partnerIds[partner];
  return ids === undefined ? [] : Array.isArray(ids) ? ids : [ids];
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}
