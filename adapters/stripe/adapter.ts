import type Stripe from 'stripe';
import { z } from 'zod';
import {
  PartnerError,
  assertSafeBaseUrl,
  classifyHttpStatus,
  parseRetryAfter,
  safeErrorCode,
  type CallContext,
  type EraseResult,
  type HeldData,
  type PartnerAdapter,
  type PartnerPayload,
  type SubjectRef,
  type UpsertInput,
  type UpsertResult,
} from '../../src/adapter.ts';
import { gatewayErrors } from '../common/errors.ts';
import { lazySdk } from '../common/lazy-sdk.ts';
import { requestsPerSecond } from '../common/limits.ts';
import { flatFields, mergeHeldFields } from '../common/results.ts';

export interface StripeOptions {
  /** A secret or restricted key (sk_… / rk_…). */
  readonly apiKey: string;
  /**
   * Another API origin, e.g. the sandbox. https unless loopback. Origin only: the SDK always puts
   * /v1/ first in the path, so a base path could not be honoured.
   */
  readonly baseUrl?: string;
  readonly timeoutMs?: number;
  /** Calls per second to keep to. Default: Stripe's documented 25/s for test keys, 100/s for live keys. */
  readonly requestsPerSecond?: number;
  /**
   * How long a new customer may be missing from search (default 60 s, as Stripe documents): an
   * unknown outcome newer than this is not settled by a search. The sandbox's index has no lag.
   */
  readonly searchLagMs?: number;
}

const PARTNER = 'stripe';
const fail = gatewayErrors(PARTNER);
const isCustomerId = (id: string): boolean => /^cus_[A-Za-z0-9]{1,64}$/.test(id);

export function createStripeAdapter(options: StripeOptions): PartnerAdapter {
  const target = options.baseUrl !== undefined ? redirect(options.baseUrl) : {};
  // One client per adapter: two gateways with different keys in one process must never share one.
  const client = lazySdk(PARTNER, async () => {
    const { default: StripeSdk } = await import('stripe');
    return new StripeSdk(options.apiKey, {
      // The job queue owns retries (with the same idempotency key); SDK retries would hide attempts.
      maxNetworkRetries: 0,
      telemetry: false,
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
      ...target,
    });
  });

  return {
    partner: PARTNER,
    // metadata.pseudonym, rewritten by every update (a key rotation updates every customer).
    pseudonymUse: 'attribute',
    limits: {
      perSecond: requestsPerSecond(
        PARTNER,
        options.requestsPerSecond,
        /^(sk|rk)_test_/.test(options.apiKey) ? 25 : 100,
      ),
    },
    retainedAfterErasure: [
      'Stripe keeps the payment records it must keep by law (charges, refunds, invoices, disputes and the billing details on them) after the customer is deleted.',
      'Stripe keeps the deleted customer id, marked deleted, and its own request logs.',
    ],

    async upsert({ payload, ref, cleared }: UpsertInput, ctx: CallContext): Promise<UpsertResult> {
      const existing = ref.partnerIds.find(isCustomerId);
      const params = customerParams(payload);
      // Deterministic per job: a retried create after a lost answer gets the first customer back.
      const requestOptions = { idempotencyKey: ctx.idempotencyKey };
      const create = async (idempotencyKey: string): Promise<UpsertResult> => {
        const customer = await call('upsert', async () =>
          (await client('upsert')).customers.create(
            { ...params, metadata: { pseudonym: ref.pseudonym } },
            { idempotencyKey },
          ),
        );
        // A 2xx whose id is not a customer id (a proxy's JSON, which the SDK takes as success): the
        // create may have happened, so it is unknown, never a success with partner id null.
        if (typeof customer.id !== 'string' || !isCustomerId(customer.id))
          throw fail('upsert', 'unknown', 'outcome_unknown', { detail: 'unexpected_answer' });
        return { partnerId: customer.id, created: true };
      };
      if (existing !== undefined) {
        // Only an update clears: a new customer holds nothing to clear. The pseudonym is rewritten on
        // every update, so after a key rotation find() knows the customer by the new one.
        const update = { ...params, ...clearedParams(payload, cleared), metadata: { pseudonym: ref.pseudonym } };
        const updated = await call(
          'upsert',
          async () => (await client('upsert')).customers.update(existing, update, requestOptions),
          { notFound: () => null },
        );
        // Gone at Stripe (deleted by hand in the dashboard) while the subject should be there: drift,
        // repaired by creating the customer again. Its own key: the update's must not answer a create.
        if (updated === null) return create(`${ctx.idempotencyKey}-recreate`);
        return { partnerId: existing, created: false };
      }
      return create(requestOptions.idempotencyKey);
    },

    async erase(ref: SubjectRef): Promise<EraseResult> {
      // Stripe has no archive: 'archive' and 'delete' both delete. No idempotency key: Stripe
      // ignores it on DELETE, which is idempotent by itself (404 the second time).
      const removed: string[] = [];
      for (const id of ref.partnerIds.filter(isCustomerId)) {
        await call('erase', async () => (await client('erase')).customers.del(id), { notFound: () => undefined });
        removed.push(id);
      }
      return { removed };
    },

    // Customers are made with metadata.pseudonym, so one whose create answer was lost is found by it.
    async find(ref: SubjectRef): Promise<string[]> {
      // The pseudonym goes into a query string of Stripe's search language: only its own alphabet.
      if (!/^[A-Za-z0-9_-]{1,200}$/.test(ref.pseudonym)) throw fail('find', 'permanent', 'invalid_partner_id');
      const query = `metadata['pseudonym']:'${ref.pseudonym}'`;
      const found = await call('find', async () => (await client('find')).customers.search({ query, limit: 100 }));
      if (!Array.isArray(found.data)) throw fail('find', 'retryable', 'unexpected_answer');
      return found.data.map((c) => c.id).filter((id) => typeof id === 'string' && isCustomerId(id));
    },
    // Stripe: "don't use search for read-after-write flows"; new data is searchable within about a minute.
    findLagMs: options.searchLagMs ?? 60_000,

    async fetch(ref: SubjectRef): Promise<HeldData> {
      const held: Record<string, unknown>[] = [];
      for (const id of ref.partnerIds.filter(isCustomerId)) {
        const customer = await call('fetch', async () => (await client('fetch')).customers.retrieve(id), {
          notFound: () => undefined,
        });
        if (customer === undefined || customer.deleted) continue;
        // An answer of an unexpected shape still means Stripe holds the customer: report it, unread.
        const parsed = customerSchema.safeParse(customer);
        held.push(parsed.success ? heldFields(parsed.data) : {});
      }
      return { found: held.length > 0, fields: mergeHeldFields(held) };
    },
  };
}

/** The payload in Stripe's names: only the fields present, so nothing the policy withheld is sent. */
function customerParams(payload: PartnerPayload): Stripe.CustomerUpdateParams & Stripe.CustomerCreateParams {
  const { name, email, phone, address } = payload;
  return {
    ...(name ? { name: `${name.given} ${name.family}` } : {}),
    ...(email !== undefined ? { email } : {}),
    ...(phone !== undefined ? { phone } : {}),
    ...(address
      ? {
          address: {
            line1: address.street,
            postal_code: address.postalCode,
            city: address.city,
            country: address.country,
          },
        }
      : {}),
  };
}

/**
 * What the master record no longer has, as Stripe unsets it: an empty string (`name=`, `email=`,
 * `phone=`, and `address=` for the whole address, which is sent whole or not at all). Only fields
 * this adapter maps; a field the payload still carries is never cleared.
 */
function clearedParams(payload: PartnerPayload, cleared: UpsertInput['cleared']): Stripe.CustomerUpdateParams {
  const out: Stripe.CustomerUpdateParams = {};
  for (const path of cleared ?? []) {
    const field = path.split('.')[0];
    if (
      (field === 'name' || field === 'email' || field === 'phone' || field === 'address') &&
      payload[field] === undefined
    ) {
      out[field] = '';
    }
  }
  return out;
}

function redirect(baseUrl: string): { host: string; port: number; protocol: 'http' | 'https' } {
  const url = assertSafeBaseUrl(PARTNER, baseUrl);
  if (url.pathname !== '/' || url.search) throw new Error(`${PARTNER}: base URL must be an origin without a path`);
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  return {
    // node:http wants an IPv6 literal without its brackets.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : protocol === 'https' ? 443 : 80,
    protocol,
  };
}

async function call<T, F = never>(
  operation: string,
  request: () => Promise<T>,
  handlers: { notFound?: () => F } = {},
): Promise<T | F> {
  try {
    return await request();
  } catch (err) {
    if (handlers.notFound && isStripeError(err) && err.statusCode === 404) {
      return handlers.notFound();
    }
    throw toPartnerError(operation, err);
  }
}

/**
 * A StripeError, told by its `type` (the SDK's own class name) rather than instanceof: the SDK is
 * loaded lazily, and a host's own copy of it would have other classes.
 */
function isStripeError(err: unknown): err is Stripe.errors.StripeError {
  const type: unknown = err instanceof Error ? (err as { type?: unknown }).type : undefined;
  return typeof type === 'string' && type.startsWith('Stripe');
}

/** Builds the error from status, code and headers only: Stripe's messages can echo parameter values. */
function toPartnerError(operation: string, err: unknown): PartnerError {
  if (err instanceof PartnerError) return err;
  if (!isStripeError(err)) return fail(operation, 'retryable', 'connection_error');
  const status = err.statusCode;
  const headers = err.headers ?? {};
  const connection = err.type === 'StripeConnectionError';
  const retryable =
    err.type === 'StripeRateLimitError' || // also a 400 with code rate_limit
    connection ||
    status === 409 || // a concurrent request with the same idempotency key: it will settle
    headers['stripe-should-retry'] === 'true';
  const timedOut = connection && /timeout/i.test(err.message);
  const code =
    safeErrorCode(err.code ?? err.rawType) ?? (connection ? (timedOut ? 'timeout' : 'connection_error') : undefined);
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  return new PartnerError({
    partner: PARTNER,
    operation,
    kind: retryable ? 'retryable' : classifyHttpStatus(status),
    ...(status !== undefined ? { status } : {}),
    ...(code !== undefined ? { code } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

const nullableString = z.string().nullish();
const addressSchema = z
  .object({
    line1: nullableString,
    line2: nullableString,
    postal_code: nullableString,
    city: nullableString,
    state: nullableString,
    country: nullableString,
  })
  .nullish();
const customerSchema = z.object({
  name: nullableString,
  email: nullableString,
  phone: nullableString,
  description: nullableString,
  address: addressSchema,
  shipping: z.object({ name: nullableString, phone: nullableString, address: addressSchema }).nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
});
type Customer = z.infer<typeof customerSchema>;

/**
 * Everything personal a Stripe customer can hold, also what Stripe collected itself (Checkout), under
 * our field paths where it is ours ('name' is Stripe's one name field, 'address.street' its lines).
 */
function heldFields(c: Customer): Record<string, unknown> {
  const address = (a: z.infer<typeof addressSchema>) =>
    a && {
      street: [a.line1, a.line2].filter(Boolean).join(', '),
      postalCode: a.postal_code,
      city: a.city,
      state: a.state,
      country: a.country,
    };
  return flatFields({
    name: c.name,
    email: c.email,
    phone: c.phone,
    address: address(c.address),
    shipping: c.shipping && { name: c.shipping.name, phone: c.shipping.phone, address: address(c.shipping.address) },
    description: c.description,
    metadata: c.metadata,
  });
}
