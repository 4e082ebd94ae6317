/**
 * An adapter for a partner partner-gateway does not ship: "Acme Rewards", a made-up loyalty
 * programme with a small REST API (described in README.md beside this file). In your project, import
 * from 'partner-gateway' instead of the relative path below.
 *
 * What every adapter does: send exactly the minimised payload it is given, key the subject by the
 * pseudonym (never the customer id), turn every failure into a PartnerError that names a status and
 * a code but never a personal value, and treat "already gone" on erasure as success.
 */
import {
  PartnerError,
  assertSafeBaseUrl,
  classifyHttpStatus,
  parseRetryAfter,
  safeErrorCode,
  type PartnerAdapter,
  type PartnerPayload,
} from '../../src/index.ts';
import { z } from 'zod';

export interface RewardsOptions {
  readonly apiKey: string;
  /** https, or http on loopback only (the sandbox). */
  readonly baseUrl: string;
  readonly timeoutMs?: number;
}

const PARTNER = 'rewards';

export function createRewardsAdapter(options: RewardsOptions): PartnerAdapter {
  if (!options.apiKey) throw new Error('rewards: apiKey is required');
  // Refuses plain http to anything but loopback, so a typo cannot send personal data in clear.
  // A trailing slash, so that paths resolve below a base with a path of its own (https://host/v2/).
  const base = new URL(assertSafeBaseUrl(PARTNER, options.baseUrl).href.replace(/\/?$/, '/'));
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function call(operation: string, method: string, path: string, body?: unknown): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(new URL(path, base), {
        method,
        headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      // Sent or not, we cannot tell: the gateway records the outcome as unknown rather than guess.
      throw new PartnerError({ partner: PARTNER, operation, kind: 'unknown', code: 'network_error' });
    }
    return response;
  }

  async function fail(operation: string, response: Response): Promise<never> {
    const kind = classifyHttpStatus(response.status);
    // Only the partner's error code is kept: its message could quote what we sent.
    const body = (await response.json().catch(() => ({}))) as { error?: { code?: unknown } };
    const retryAfter = response.headers.get('retry-after');
    throw new PartnerError({
      partner: PARTNER,
      operation,
      kind,
      status: response.status,
      code: typeof body.error?.code === 'string' ? safeErrorCode(body.error.code) : undefined,
      retryAfterMs: kind === 'retryable' && retryAfter ? parseRetryAfter(retryAfter) : undefined,
    });
  }

  const memberPath = (pseudonym: string) => `members/${encodeURIComponent(pseudonym)}`;

  return {
    partner: PARTNER,
    // The partner's documented limit: the gateway paces every worker to it.
    limits: { perSecond: 20 },
    retainedAfterErasure: ['Points already redeemed stay in Acme Rewards’ order history, without the member.'],

    async upsert({ payload, ref }) {
      const response = await call('upsert', 'PUT', memberPath(ref.pseudonym), memberBody(payload));
      if (!response.ok) return fail('upsert', response);
      return { partnerId: ref.pseudonym, created: response.status === 201 };
    },

    async erase(ref, mode) {
      if (mode !== 'delete')
        throw new PartnerError({
          partner: PARTNER,
          operation: 'erase',
          kind: 'permanent',
          code: 'unsupported_erase_mode',
        });
      const response = await call('erase', 'DELETE', memberPath(ref.pseudonym));
      // Already gone is what erasure wants.
      if (!response.ok && response.status !== 404) return fail('erase', response);
      return { removed: [ref.pseudonym] };
    },

    async fetch(ref) {
      const response = await call('fetch', 'GET', memberPath(ref.pseudonym));
      if (response.status === 404) return { found: false, fields: {} };
      if (!response.ok) return fail('fetch', response);
      // What a partner answers is checked like any input: a wrong shape is an error, not a guess.
      const parsed = memberAnswer.safeParse(await response.json().catch(() => undefined));
      if (!parsed.success)
        throw new PartnerError({ partner: PARTNER, operation: 'fetch', kind: 'permanent', code: 'unexpected_answer' });
      const member = parsed.data;
      const fields: Record<string, unknown> = {};
      if (member.firstName) fields['name.given'] = member.firstName;
      if (member.lastName) fields['name.family'] = member.lastName;
      if (member.email) fields.email = member.email;
      return { found: true, fields };
    },
  };
}

const text = z.string().max(500).optional();
const memberAnswer = z.object({ firstName: text, lastName: text, email: text });

/** Exactly the fields of the payload, in the partner's shape: nothing rides along. */
function memberBody(payload: PartnerPayload): Record<string, string> {
  const body: Record<string, string> = {};
  if (payload.name) {
    body.firstName = payload.name.given;
    body.lastName = payload.name.family;
  }
  if (payload.email) body.email = payload.email;
  return body;
}
