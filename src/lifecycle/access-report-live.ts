import { randomUUID } from 'node:crypto';
import type { HeldData, PartnerAdapter } from '../adapter.ts';
import { idempotencyKey } from '../transfer/idempotency.ts';
import { liveItems } from './access-report-items.ts';
import type { AccessReportPartner, LifecycleDeps } from './types.ts';

/**
 * Asks one partner what it holds for the subject, for an access report. It goes through transfer
 * like every other outbound call (intent before, outcome after, paced by the partner's limits). What
 * comes back is personal data: it goes into the report and nowhere else, and a failure is reported by
 * the PartnerError message (which never quotes a body).
 */
export async function fetchLive(
  deps: Pick<LifecycleDeps, 'keys' | 'transfer' | 'policy'>,
  adapter: PartnerAdapter,
  subjectId: string,
  partnerIds: readonly string[],
): Promise<NonNullable<AccessReportPartner['live']>> {
  const partner = adapter.partner;
  const ref = { pseudonym: deps.keys.pseudonym(partner, subjectId), partnerIds };
  const correlationId = randomUUID();
  let held: HeldData | undefined;
  const [unitSettled] = await deps.transfer.run(partner, [
    {
      operation: 'fetch',
      correlationId,
      idempotencyKey: idempotencyKey(deps.keys, partner, 'fetch', correlationId),
      members: [
        {
          subjectId,
          sendsData: false,
          intent: {
            operation: 'fetch',
            trigger: 'ops',
            correlationId,
            fields: [],
            categories: [],
            partnerId: partnerIds[0],
            attempt: 1,
          },
        },
      ],
      call: async (ctx) => {
        held = await adapter.fetch!(ref, ctx);
        return [{ ok: true, partnerIds }];
      },
    },
  ]);
  const settled = unitSettled![0]!;
  if (settled.outcome === 'skipped') return { error: `${partner} fetch skipped` };
  if (!settled.result.ok) return { error: settled.result.error.message };
  const fields = { ...held!.fields };
  return { found: held!.found, fields, items: held!.found ? liveItems(deps.policy, partner, fields) : [] };
}
