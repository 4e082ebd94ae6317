import type { AxiosResponse } from 'axios';
import { z } from 'zod';
import {
  PartnerError,
  classifyHttpStatus,
  parseRetryAfter,
  safeErrorCode,
  type PartnerAdapter,
  type PartnerPayload,
} from '../../src/adapter.ts';
import { createRestClient } from '../shared/rest-client.ts';

export interface ElogistikOptions {
  readonly token: string;
  /** Required: E-logistik has no public default endpoint. */
  readonly baseUrl: string;
  readonly timeoutMs?: number;
}

const PARTNER = 'elogistik';

const customerSchema = z.object({
  name: z.string().nullish(),
  address: z.object({ street: z.string(), postalCode: z.string(), city: z.string(), country: z.string() }).nullish(),
  phone: z.string().nullish(),
  email: z.string().nullish(),
});
const errorSchema = z.object({ code: z.string() });

export function createElogistikAdapter(options: ElogistikOptions): PartnerAdapter {
  if (!options.token) throw new Error('elogistik: token is required');
  if (!options.baseUrl) throw new Error('elogistik: baseUrl is required');
  const http = createRestClient({
    partner: PARTNER,
    baseUrl: options.baseUrl,
    headers: { Authorization: `Bearer ${options.token}` },
    timeoutMs: options.timeoutMs,
  });

  const customerPath = (ref: string) => `/v1/customers/${encodeURIComponent(ref)}`;

  return {
    partner: PARTNER,
    limits: { perSecond: 50 },
    retainedAfterErasure: [
      "Deleting the customer does not reach shipments already booked: their recipient name and address are outside this API and kept under E-logistik's own retention for transport and bookkeeping records.",
    ],

    async upsert({ payload, ref }, ctx) {
      const res = await http.request(
        'upsert',
        { method: 'PUT', url: customerPath(ref.pseudonym), data: customerBody(payload) },
        ctx,
      );
      expectOk('upsert', res);
      return { partnerId: ref.pseudonym, created: res.status === 201 };
    },

    async erase(ref, mode, ctx) {
      // The contract has no soft delete; deleting when asked to archive would do more than asked.
      if (mode !== 'delete')
        throw new PartnerError({
          partner: PARTNER,
          operation: 'erase',
          kind: 'permanent',
          code: 'unsupported_erase_mode',
        });
      const res = await http.request('erase', { method: 'DELETE', url: customerPath(ref.pseudonym) }, ctx);
      if (res.status !== 404) expectOk('erase', res);
      return { removed: [ref.pseudonym] };
    },

    async fetch(ref, ctx) {
      const res = await http.request('fetch', { method: 'GET', url: customerPath(ref.pseudonym) }, ctx);
      if (res.status === 404) return { found: false, fields: {} };
      expectOk('fetch', res);
      const parsed = customerSchema.safeParse(res.data);
      if (!parsed.success)
        throw new PartnerError({
          partner: PARTNER,
          operation: 'fetch',
          kind: 'permanent',
          status: res.status,
          code: 'unexpected_response',
        });
      const { address, ...rest } = parsed.data;
      const fields: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(rest)) if (value) fields[key] = value;
      if (address) for (const [key, value] of Object.entries(address)) fields[`address.${key}`] = value;
      return { found: true, fields };
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

function expectOk(operation: string, res: AxiosResponse): void {
  if (res.status >= 200 && res.status < 300) return;
  const kind = classifyHttpStatus(res.status);
  const body = errorSchema.safeParse(res.data);
  const header: unknown = res.headers['retry-after'];
  throw new PartnerError({
    partner: PARTNER,
    operation,
    kind,
    status: res.status,
    code: body.success ? safeErrorCode(body.data.code) : undefined,
    retryAfterMs: kind === 'retryable' && typeof header === 'string' ? parseRetryAfter(header) : undefined,
  });
}
