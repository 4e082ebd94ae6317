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
import type { RestAnswer } from '../common/rest-client.ts';
import { createSdkTransport, type SdkAnswer, type SdkTransport } from '../common/sdk-transport.ts';
import { requestsPerSecond } from '../common/limits.ts';
import { boundedFields, flatFields, mergeHeldFields } from '../common/results.ts';

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
const DEFAULT_ORIGIN = 'https://api.stripe.com';
/** The whole request, answer included; Stripe's SDK waits 80 s by default, which only hides a dead peer. */
const DEFAULT_TIMEOUT_MS = 30_000;
const fail = gatewayErrors(PARTNER);
const isCustomerId = (id: string): boolean => /^cus_[A-Za-z0-9]{1,64}$/.test(id);

export function createStripeAdapter(options: StripeOptions): PartnerAdapter {
  const transport = createSdkTransport({
    partner: PARTNER,
    baseUrl: pinnedOrigin(options.baseUrl ?? DEFAULT_ORIGIN),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    answerError,
  });
  // One client per adapter: two gateways with different keys in one process must never share one.
  const client = lazySdk(PARTNER, async () => {
    const { default: StripeSdk } = await import('stripe');
    return new StripeSdk(options.apiKey, {
      // The job queue owns retries (with the same idempotency key); SDK retries would hide attempts.
      // (Its one retry of a reset connection, which this setting does not stop, the transport refuses.)
      maxNetworkRetries: 0,
      telemetry: false,
      httpClient: cappedHttpClient(StripeSdk, transport),
    });
  });
  /** One SDK call: every failure is a PartnerError, a 404 is `notFound()` where the caller says so. */
  const call = <T, F = never>(operation: string, ctx: CallContext, request: () => Promise<T>, notFound?: () => F) =>
    transport.run(operation, ctx, request).catch((err: unknown) => {
      if (notFound && err instanceof PartnerError && err.status === 404) return notFound();
      // Not the transport's: the SDK could not read a 2xx answer (not JSON, an `error` member).
      throw err instanceof PartnerError ? err : fail(operation, 'retryable', 'unexpected_answer');
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
      const create = async (idempotencyKey: string): Promise<UpsertResult> => {
        const customer = await call('upsert', ctx, async () =>
          (await client('upsert')).customers.create(
            { ...params, metadata: { pseudonym: ref.pseudonym } },
            { idempotencyKey },
          ),
        ).catch((err: unknown) => {
          // A 2xx the SDK could not read: the create may have happened.
          throw err instanceof PartnerError && err.code === 'unexpected_answer' ? createUnknown() : err;
        });
        // A 2xx whose id is not a customer id (a proxy's JSON): the create may have happened, so it is
        // unknown (the erasure then searches for it), never a success with partner id null.
        const created = customerIdSchema.safeParse(customer);
        if (!created.success) throw createUnknown();
        return { partnerId: created.data.id, created: true };
      };
      if (existing !== undefined) {
        // Only an update clears: a new customer holds nothing to clear. The pseudonym is rewritten on
        // every update, so after a key rotation find() knows the customer by the new one.
        const update = { ...params, ...clearedParams(payload, cleared), metadata: { pseudonym: ref.pseudonym } };
        // Deterministic per job: a retried update after a lost answer is answered, not repeated.
        const updated = await call(
          'upsert',
          ctx,
          async () =>
            (await client('upsert')).customers.update(existing, update, { idempotencyKey: ctx.idempotencyKey }),
          () => null,
        );
        // Gone at Stripe (deleted by hand in the dashboard) while the subject should be there: drift,
        // repaired by creating the customer again. Its own key: the update's must not answer a create.
        if (updated === null) return create(`${ctx.idempotencyKey}-recreate`);
        if (customerIdSchema.safeParse(updated).data?.id !== existing) throw unexpected('upsert');
        return { partnerId: existing, created: false };
      }
      // Deterministic per job: a retried create after a lost answer gets the first customer back.
      return create(ctx.idempotencyKey);
    },

    async erase(ref: SubjectRef, _mode, ctx: CallContext): Promise<EraseResult> {
      // Stripe has no archive: 'archive' and 'delete' both delete. No idempotency key: Stripe
      // ignores it on DELETE, which is idempotent by itself (404 the second time).
      const removed: string[] = [];
      for (const id of ref.partnerIds.filter(isCustomerId)) {
        const answer = await call(
          'erase',
          ctx,
          async () => (await client('erase')).customers.del(id),
          () => 'gone' as const,
        );
        // Only Stripe's own "deleted" answer for this customer counts; anything else is asked again.
        if (answer !== 'gone' && deletedSchema.safeParse(answer).data?.id !== id) throw unexpected('erase');
        removed.push(id);
      }
      return { removed };
    },

    // Customers are made with metadata.pseudonym, so one whose create answer was lost is found by it.
    async find(ref: SubjectRef, ctx: CallContext): Promise<string[]> {
      // The pseudonym goes into a query string of Stripe's search language: only its own alphabet.
      if (!/^[A-Za-z0-9_-]{1,200}$/.test(ref.pseudonym)) throw fail('find', 'permanent', 'invalid_partner_id');
      const query = `metadata['pseudonym']:'${ref.pseudonym}'`;
      const found = searchSchema.safeParse(
        await call('find', ctx, async () => (await client('find')).customers.search({ query, limit: 100 })),
      );
      if (!found.success) throw unexpected('find');
      // Only ids of Stripe's format: an id from an answer goes into later URL paths.
      return found.data.data.map((c) => c.id).filter((id): id is string => typeof id === 'string' && isCustomerId(id));
    },
    // Stripe: "don't use search for read-after-write flows"; new data is searchable within about a minute.
    findLagMs: options.searchLagMs ?? 60_000,

    async fetch(ref: SubjectRef, ctx: CallContext): Promise<HeldData> {
      const held: Record<string, unknown>[] = [];
      for (const id of ref.partnerIds.filter(isCustomerId)) {
        const customer = await call(
          'fetch',
          ctx,
          async () => (await client('fetch')).customers.retrieve(id),
          () => undefined,
        );
        if (customer === undefined) continue;
        const own = retrievedSchema.safeParse(customer);
        // Not this customer's answer: nothing can be said about what Stripe holds.
        if (!own.success || own.data.id !== id) throw unexpected('fetch');
        if (own.data.deleted === true) continue;
        // This customer's answer with fields of an unexpected shape: Stripe holds it, report it unread.
        const parsed = customerSchema.safeParse(customer);
        held.push(parsed.success ? heldFields(parsed.data) : {});
      }
      return { found: held.length > 0, fields: mergeHeldFields(held) };
    },
  };
}

const unexpected = (operation: string) => fail(operation, 'retryable', 'unexpected_answer');
const createUnknown = () => fail('upsert', 'unknown', 'outcome_unknown', { detail: 'unexpected_answer' });

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

/** Stripe's own API origin, and only an origin: the SDK always puts /v1/ first in the path. */
function pinnedOrigin(baseUrl: string): string {
  const url = assertSafeBaseUrl(PARTNER, baseUrl);
  if (url.pathname !== '/' || url.search) throw new Error(`${PARTNER}: base URL must be an origin without a path`);
  return url.origin;
}

/**
 * The SDK's HttpClient, speaking through the capped transport: the host, port, protocol and timeout
 * the SDK passes are its defaults and are ignored (the transport's origin and deadline hold).
 */
function cappedHttpClient(StripeSdk: typeof Stripe, transport: SdkTransport): Stripe.HttpClient {
  class Answer extends StripeSdk.HttpClientResponse {
    readonly #body: string;
    constructor(answer: SdkAnswer) {
      super(answer.status, answer.headers);
      this.#body = answer.body;
    }
    // The SDK writes the answer's request id onto this object: it must be one.
    override getRawResponse(): unknown {
      return {};
    }
    override toStream(): never {
      throw new Error('stripe: streamed answers are not used');
    }
    // Only an object reaches the SDK: it defines a property on what it parsed and, when that throws
    // (a string, a number, null), its promise never settles and the rejection goes unhandled.
    override toJSON(): Promise<unknown> {
      return Promise.resolve().then(() => {
        const parsed: unknown = JSON.parse(this.#body);
        if (typeof parsed !== 'object' || parsed === null) throw new Error('stripe: the answer is not an object');
        return parsed;
      });
    }
  }
  class CappedHttpClient extends StripeSdk.HttpClient {
    override getClientName(): string {
      return 'partner-gateway';
    }
    override async makeRequest(
      _host: string,
      _port: string | number,
      path: string,
      method: string,
      headers: Record<string, string | number | string[]>,
      body: string | Uint8Array | null,
    ): Promise<Stripe.HttpClientResponse> {
      const flat = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)]));
      return new Answer(await transport.request({ method, url: path, headers: flat, body: body ?? undefined }));
    }
  }
  return new CappedHttpClient();
}

/** The error for a non-2xx answer, from status, Stripe's code and headers only: its messages can echo values. */
function answerError(operation: string, answer: RestAnswer): PartnerError {
  const { status, headers } = answer;
  const body = errorSchema.safeParse(answer.data);
  const code = body.success ? (body.data.error.code ?? body.data.error.type) : undefined;
  const retryable =
    status === 429 ||
    code === 'rate_limit' || // Stripe also answers a rate limit as a 400 with this code
    status === 409 || // a concurrent request with the same idempotency key: it will settle
    headers['stripe-should-retry'] === 'true';
  return new PartnerError({
    partner: PARTNER,
    operation,
    kind: retryable ? 'retryable' : classifyHttpStatus(status),
    status,
    code: safeErrorCode(code),
    retryAfterMs: parseRetryAfter(headers['retry-after']),
  });
}

const errorSchema = z.object({ error: z.object({ code: z.string().optional(), type: z.string().optional() }) });
const customerIdSchema = z.object({ id: z.string().refine(isCustomerId) });
const deletedSchema = z.object({ id: z.string(), deleted: z.literal(true) });
const retrievedSchema = z.object({ id: z.string(), deleted: z.boolean().optional() });
const searchSchema = z.object({ data: z.array(z.object({ id: z.unknown() })) });

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
  return {
    ...flatFields({
      name: c.name,
      email: c.email,
      phone: c.phone,
      address: address(c.address),
      shipping: c.shipping && { name: c.shipping.name, phone: c.shipping.phone, address: address(c.shipping.address) },
    }),
    // Written by anyone with the key (a host's integration, a Stripe dashboard user): bounded.
    ...boundedFields(c.description, 'description'),
    ...boundedFields(c.metadata, 'metadata'),
  };
}
