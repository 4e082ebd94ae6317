import { z } from 'zod';
import type { PartnerAdapter, PartnerPayload } from '../../src/adapter.ts';
import { gatewayErrors } from '../common/errors.ts';
import { flatFields } from '../common/results.ts';
import { requestsPerSecond } from '../common/limits.ts';
import { createRestClient, isSuccess } from '../common/rest-client.ts';

export interface ElogistikOptions {
  readonly token: string;
  /** Required: E-logistik has no public default endpoint. */
  readonly baseUrl: string;
  readonly timeoutMs?: number;
  /** Requests per second to keep to. Default 50, the contract's limit. */
  readonly requestsPerSecond?: number;
}

const PARTNER = 'elogistik';
const fail = gatewayErrors(PARTNER);

const customerSchema = z.object({
  name: z.string().nullish(),
  address: z.object({ street: z.string(), postalCode: z.string(), city: z.string(), country: z.string() }).nullish(),
  phone: z.string().nullish(),
  email: z.string().nullish(),
});
const ackSchema = z.object({ ref: z.string() });
const errorSchema = z.object({ code: z.string() });

export function createElogistikAdapter(options: ElogistikOptions): PartnerAdapter {
  if (!options.token) throw new Error('elogistik: token is required');
  if (!options.baseUrl) throw new Error('elogistik: baseUrl is required');
  const http = createRestClient({
    partner: PARTNER,
    baseUrl: options.baseUrl,
    headers: { Authorization: `Bearer ${options.token}` },
    timeoutMs: options.timeoutMs,
    errorCode: (answer) => errorSchema.safeParse(answer.data).data?.code,
  });

  const customerPath = (ref: string) => `/v1/customers/${encodeURIComponent(ref)}`;

  return {
    partner: PARTNER,
    // Customers are keyed by the pseudonym: a key rotation re-creates them under the new one.
    pseudonymUse: 'key',
    limits: { perSecond: requestsPerSecond(PARTNER, options.requestsPerSecond, 50) },
    retainedAfterErasure: [
      "Deleting the customer does not reach shipments already booked: their recipient name and address are outside this API and kept under E-logistik's own retention for transport and bookkeeping records.",
    ],

    async upsert({ payload, ref }, ctx) {
      const res = await http.expectOk(
        'upsert',
        { method: 'PUT', url: customerPath(ref.pseudonym), data: customerBody(payload) },
        ctx,
      );
      // Only the customer under our ref acknowledges the write: any other 2xx (a proxy's page) does not.
      if (!ackSchema.safeParse(res.data).data || (res.data as { ref: unknown }).ref !== ref.pseudonym)
        throw fail('upsert', 'retryable', 'unexpected_answer', { status: res.status });
      return { partnerId: ref.pseudonym, created: res.status === 201 };
    },

    async erase(ref, mode, ctx) {
      // The contract has no soft delete; deleting when asked to archive would do more than asked.
      if (mode !== 'delete') throw fail('erase', 'permanent', 'unsupported_erase_mode');
      const res = await http.send('erase', { method: 'DELETE', url: customerPath(ref.pseudonym) }, ctx);
      if (res.status !== 404 && !isSuccess(res)) throw http.error('erase', res);
      return { removed: [ref.pseudonym] };
    },

    // Customers are keyed by the pseudonym itself, so erase() reaches whatever a lost answer left.
    find: async () => [],

    async fetch(ref, ctx) {
      const res = await http.send('fetch', { method: 'GET', url: customerPath(ref.pseudonym) }, ctx);
      if (res.status === 404) return { found: false, fields: {} };
      if (!isSuccess(res)) throw http.error('fetch', res);
      const parsed = customerSchema.safeParse(res.data);
      if (!parsed.success) throw fail('fetch', 'permanent', 'unexpected_answer', { status: res.status });
      // E-logistik keeps the whole name in one field: it is reported as 'name'.
      return { found: true, fields: flatFields(parsed.data) };
    },
  };
}

/** Exactly the payload's fields; the address is copied field by field so nothing else rides along. */
function customerBody(payload: PartnerPayload): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (payload.name !== undefined) body.name = `${payload.name.given} ${payload.name.family}`;
  if (payload.address !== undefined) {
    const { street, postalCode, city, country } = payload.address;
    body.address = { street, postalCode, city, country };
  }
  if (payload.phone !== undefined) body.phone = payload.phone;
  if (payload.email !== undefined) body.email = payload.email;
  return body;
}
