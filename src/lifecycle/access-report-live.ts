import { randomUUID } from 'node:crypto';
import { PartnerError, type PartnerAdapter } from '../adapter.ts';
import { writeIntent, writeOutcome } from '../log/transfer-log.ts';
import { liveItems } from './access-report-items.ts';
import type { AccessReportPartner, LifecycleDeps } from './types.ts';

/**
 * Asks one partner what it holds for the subject, for an access report. The call sends the partner
 * its own ids and our pseudonym, so it is logged like any other outbound call (intent before,
 * outcome after). What comes back is personal data: it goes into the report and nowhere else, and a
 * failure is reported by the PartnerError message (which never quotes a body) or by its class only.
 */
export async function fetchLive(
  deps: Pick<LifecycleDeps, 'db' | 'policy' | 'keys' | 'logger'>,
  adapter: PartnerAdapter,
  subjectId: string,
  partnerIds: readonly string[],
): Promise<NonNullable<AccessReportPartner['live']>> {
  const partner = adapter.partner;
  const ref = { pseudonym: deps.keys.pseudonym(partner, subjectId), partnerIds };
  const correlationId = randomUUID();
  const intentSeq = await writeIntent(deps.db, {
    subjectId,
    partner,
    operation: 'fetch',
    purpose: deps.policy.partner(partner).purpose,
    legalBasis: deps.policy.legalBasis(partner),
    trigger: 'ops',
    correlationId,
    fields: [],
    categories: [],
    partnerId: partnerIds[0],
    attempt: 1,
    policyDigest: deps.policy.digest,
  });
  const started = performance.now();
  try {
    const held = await adapter.fetch!(ref, {
      correlationId,
      idempotencyKey: `pg-${ref.pseudonym.slice(0, 16)}-${partner}-fetch-${correlationId}`,
    });
    await writeOutcome(deps.db, intentSeq, { outcome: 'ok', durationMs: performance.now() - started });
    const fields = { ...held.fields };
    return { found: held.found, fields, items: held.found ? liveItems(deps.policy, partner, fields) : [] };
  } catch (error) {
    const partnerError = error instanceof PartnerError ? error : undefined;
    await writeOutcome(deps.db, intentSeq, {
      outcome: 'failed',
      httpStatus: partnerError?.status,
      errorCode: partnerError?.code ?? partnerError?.kind ?? 'unexpected_error',
      durationMs: performance.now() - started,
    });
    deps.logger.warn(
      { subjectId, partner, operation: 'fetch', correlationId, status: partnerError?.status, code: partnerError?.code },
      'access report: live fetch failed',
    );
    return {
      error: partnerError
        ? partnerError.message
        : `${partner} fetch failed (${error instanceof Error ? error.name : 'unexpected error'})`,
    };
  }
}
