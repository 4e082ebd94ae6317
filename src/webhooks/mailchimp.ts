/**
 * Mailchimp's unsubscribe webhook, as a plain Node request handler a host mounts on its own server
 * (node:http, Express, Fastify's raw handler...): a member who unsubscribes through the newsletter's
 * own link becomes a withdrawal in the consent ledger, with source `mailchimp`, so the ledger, the
 * access report and every later resync agree with Mailchimp. The partner side can only ever withdraw:
 * a `subscribe` event is never recorded as a grant (consent is given to us, not to Mailchimp).
 *
 * Mailchimp signs nothing. What it allows us to check, we check: a secret in the URL it calls (path
 * or query, compared in constant time), optionally the source address, an audience id, the form
 * encoding and a size cap. The member is matched through the subscriber hash already in the links
 * (md5 of the lower-cased address, Mailchimp's own member id): the address in the event is hashed
 * and dropped, never stored, logged or echoed. The fields read (`type`, `data[list_id]`, `data[email]`,
 * `data[action]`, `data[campaign_id]`) are those of the unsubscribe payload in Mailchimp's guide "Sync
 * audience data with webhooks".
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { pino, type Logger } from 'pino';
import type { Lifecycle } from '../lifecycle/types.ts';
import type { Policy } from '../policy/index.ts';
import type { Sql } from '../store/database.ts';

/** What the handler needs of a gateway (a Gateway has all of it). */
export interface WebhookGateway {
  readonly database: Sql;
  readonly policy: Policy;
  readonly consent: Pick<Lifecycle['consent'], 'withdraw' | 'history'>;
}

export interface MailchimpWebhookOptions {
  readonly gateway: WebhookGateway;
  /** Where the handler logs (never a personal value); default: pino on stdout as `partner-gateway`. */
  readonly logger?: Logger;
  /**
   * The secret in the webhook URL registered at Mailchimp, as its last path segment
   * (`https://host/hooks/mailchimp/<secret>`) or as `?secret=<secret>`: at least 24 URL-safe
   * characters (e.g. `openssl rand -base64 32 | tr '+/' '-_' | tr -d =`).
   */
  readonly secret: string;
  /** The partner's name in the policy (default `mailchimp`); it must rest on consent. */
  readonly partner?: string;
  /** The audience (list) id; events of other audiences are acknowledged and ignored. */
  readonly listId?: string;
  /** Source address ranges allowed (CIDR, e.g. `203.0.113.0/24`); default: any. */
  readonly allowedSources?: readonly string[];
  /**
   * Read the client address from the last `X-Forwarded-For` entry (the one your own proxy appends)
   * instead of the socket. Only behind a proxy that sets it.
   */
  readonly trustProxy?: boolean;
  /** Default 64 KiB: an unsubscribe event is well under 2 KiB. */
  readonly maxBodyBytes?: number;
  /** Default 10 s for the whole body. */
  readonly bodyTimeoutMs?: number;
}

export type NodeRequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

const SECRET = /^[A-Za-z0-9_-]{24,256}$/;
const LIST_ID = /^[A-Za-z0-9]{1,32}$/;
const CAMPAIGN_ID = /^[A-Za-z0-9]{1,32}$/;
const ACTIONS = new Set(['unsub', 'delete']);

export function createMailchimpWebhookHandler(options: MailchimpWebhookOptions): NodeRequestHandler {
  const { gateway } = options;
  const partner = options.partner ?? 'mailchimp';
  if (!SECRET.test(options.secret ?? ''))
    throw new Error('mailchimp webhook: secret must be at least 24 URL-safe characters (A-Z, a-z, 0-9, _ and -)');
  if (options.listId !== undefined && !LIST_ID.test(options.listId))
    throw new Error('mailchimp webhook: listId must be a Mailchimp audience id (letters and digits)');
  const purpose = gateway.policy.partner(partner).consent?.purpose;
  if (!purpose) throw new Error(`mailchimp webhook: partner ${partner} does not rest on consent in the policy`);
  const allowed = options.allowedSources ? blockList(options.allowedSources) : undefined;
  const expected = digest(options.secret);
  const maxBytes = options.maxBodyBytes ?? 64 * 1024;
  const timeoutMs = options.bodyTimeoutMs ?? 10_000;
  const log = (options.logger ?? pino({ name: 'partner-gateway' })).child({ webhook: 'mailchimp', partner });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (allowed && !allowed.check(...clientAddress(req, options.trustProxy === true)))
      return reply(res, 403, 'forbidden');
    // A wrong secret gets the answer an unknown path gets: nothing tells a prober the hook is here.
    if (!secretMatches(req, expected)) return reply(res, 404, 'not found');
    // Mailchimp checks the URL with a GET when the webhook is saved.
    if (req.method === 'GET' || req.method === 'HEAD') return reply(res, 200, 'ok');
    if (req.method !== 'POST') return reply(res, 405, 'method not allowed', { allow: 'GET, HEAD, POST' });
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') return reply(res, 415, 'expected a form-encoded body');

    const body = await readBody(req, maxBytes, timeoutMs);
    if (body === 'too-large') return reply(res, 413, 'body too large');
    if (body === 'timeout') return reply(res, 408, 'body too slow');
    const form = new URLSearchParams(body);
    const event = form.get('type');
    if (event !== 'unsubscribe') {
      // subscribe, profile, upemail, cleaned, campaign: nothing the ledger may take from the partner.
      log.debug({ event: safeWord(event) }, 'mailchimp webhook: event ignored');
      return reply(res, 200, 'ignored');
    }
    const list = form.get('data[list_id]');
    if (options.listId !== undefined && list !== options.listId) {
      log.info({ event }, 'mailchimp webhook: event of another audience ignored');
      return reply(res, 200, 'ignored');
    }
    const email = form.get('data[email]')?.trim();
    if (!email || !email.includes('@') || email.length > 254) return reply(res, 400, 'data[email] is missing');
    const hash = createHash('md5').update(email.toLowerCase()).digest('hex');
    const action = form.get('data[action]');
    const evidence = [
      'mailchimp',
      action && ACTIONS.has(action) ? action : 'unsub',
      ...(CAMPAIGN_ID.test(form.get('data[campaign_id]') ?? '') ? [`campaign-${form.get('data[campaign_id]')}`] : []),
    ].join(':');

    // A member the gateway unsubscribed for a restriction is not the member's own unsubscribe (Mailchimp
    // sends one for an API change too, when the webhook's api source is on): the grant stands.
    const subjects = await gateway.database.query<{ subject_id: string }>(
      `select subject_id from links where partner = $1 and erased_at is null and partner_ids ? $2
         and restriction_applied is distinct from 'suppress' order by subject_id`,
      [partner, hash],
    );
    let recorded = 0;
    for (const { subject_id: subjectId } of subjects) {
      // Mailchimp may deliver an event more than once: a withdrawal already in force is not repeated.
      const latest = (await gateway.consent.history(subjectId)).filter((e) => e.purpose === purpose).at(-1);
      if (latest?.status === 'withdrawn') continue;
      await gateway.consent.withdraw(subjectId, purpose, { source: 'mailchimp', evidence });
      recorded++;
    }
    log.info({ event, matched: subjects.length, recorded }, 'mailchimp webhook: unsubscribe');
    reply(res, 200, 'ok');
  };

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A database that is down: 500, so Mailchimp delivers the event again later.
      const { name, code } = (error ?? {}) as { name?: string; code?: string };
      log.error({ error: { name, code } }, 'mailchimp webhook failed');
      if (!res.headersSent) reply(res, 500, 'error');
      else res.destroy();
    });
  };
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** The secret as the last path segment or the `secret` query parameter, compared in constant time. */
function secretMatches(req: IncomingMessage, expected: Buffer): boolean {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://webhook.invalid');
  } catch {
    return false;
  }
  const candidates = [url.pathname.split('/').filter(Boolean).at(-1) ?? '', url.searchParams.get('secret') ?? ''];
  // Both compared, whatever the first gives: the time taken says nothing about either.
  let match = false;
  for (const candidate of candidates) match = timingSafeEqual(digest(candidate), expected) || match;
  return match;
}

function clientAddress(req: IncomingMessage, trustProxy: boolean): [string, 'ipv4' | 'ipv6'] {
  const forwarded = trustProxy
    ? String(req.headers['x-forwarded-for'] ?? '')
        .split(',')
        .at(-1)
        ?.trim()
    : undefined;
  let address = forwarded || req.socket.remoteAddress || '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) address = mapped[1]!;
  return [address, isIP(address) === 6 ? 'ipv6' : 'ipv4'];
}

function blockList(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const [address = '', prefix] = range.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix);
    if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32))
      throw new Error(`mailchimp webhook: allowedSources: ${JSON.stringify(range)} is not an address range (CIDR)`);
    list.addSubnet(address, bits, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

function readBody(
  req: IncomingMessage,
  maxBytes: number,
  timeoutMs: number,
): Promise<string | 'too-large' | 'timeout'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (value: string | 'too-large' | 'timeout') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    };
    const timer = setTimeout(() => settle('timeout'), timeoutMs);
    timer.unref();
    req.on('data', (chunk: Buffer) => {
      if (settled) return; // what comes after the cap or the deadline is drained, not kept
      size += chunk.length;
      if (size > maxBytes) settle('too-large');
      else chunks.push(chunk);
    });
    req.on('end', () => settle(Buffer.concat(chunks).toString('utf8')));
    req.on('error', (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    });
  });
}

function reply(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(`${text}\n`);
}

function safeWord(value: string | null): string | undefined {
  return value && /^[a-z_]{1,32}$/.test(value) ? value : undefined;
}
