import { randomBytes } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse, Holding, PartnerEmulator } from '../../src/emulator.ts';

export const TWILIO_SANDBOX_ACCOUNT_SID = 'AC00000000000000000000000000000000';
export const TWILIO_SANDBOX_AUTH_TOKEN = 'sandbox-auth-token';
/** Twilio's own magic test number for a valid From. */
export const TWILIO_SANDBOX_FROM = '+15005550006';

export interface TwilioEmulatorOptions {
  readonly accountSid?: string;
  readonly authToken?: string;
  /**
   * How long a new call stays in progress (ms). Until then DELETE answers 20009, like Twilio for a
   * call that has not completed. Default 0: calls complete at once.
   */
  readonly callDurationMs?: number;
}

interface Call {
  sid: string;
  to: string;
  from: string;
  createdAt: number;
}

const CALLS = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\.json$/;
const CALL = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\/([^/]+)\.json$/;
const E164 = /^\+[1-9][0-9]{6,14}$/;

class TwilioFailure {
  readonly status: number;
  readonly code: number;
  readonly message: string;
  constructor(status: number, code: number, message: string) {
    this.status = status;
    this.code = code;
    this.message = message;
  }
}

export function createTwilioEmulator(options: TwilioEmulatorOptions = {}): PartnerEmulator {
  const accountSid = options.accountSid ?? TWILIO_SANDBOX_ACCOUNT_SID;
  const authToken = options.authToken ?? TWILIO_SANDBOX_AUTH_TOKEN;
  const duration = options.callDurationMs ?? 0;
  const calls = new Map<string, Call>();
  const status = (call: Call) => (Date.now() - call.createdAt >= duration ? 'completed' : 'queued');

  function view(call: Call) {
    const uri = `/2010-04-01/Accounts/${accountSid}/Calls/${call.sid}.json`;
    return {
      sid: call.sid,
      account_sid: accountSid,
      to: call.to,
      to_formatted: call.to,
      from: call.from,
      from_formatted: call.from,
      status: status(call),
      direction: 'outbound-api',
      api_version: '2010-04-01',
      date_created: rfc2822(call.createdAt),
      date_updated: rfc2822(call.createdAt),
      // A completed call rang from its creation for callDurationMs, as the real call record says.
      ...(status(call) === 'completed'
        ? {
            start_time: rfc2822(call.createdAt),
            end_time: rfc2822(call.createdAt + duration),
            duration: String(Math.round(duration / 1000)),
          }
        : { start_time: null, end_time: null, duration: null }),
      price: null,
      uri,
      subresource_uris: { recordings: uri.replace('.json', '/Recordings.json') },
    };
  }

  function handle(req: EmulatorRequest): EmulatorResponse {
    try {
      authenticate(req, accountSid, authToken);
      const list = CALLS.exec(req.path);
      const one = CALL.exec(req.path);
      const pathAccount = list?.[1] ?? one?.[1];
      if (pathAccount === undefined) throw notFound(req.path);
      if (pathAccount !== accountSid) throw new TwilioFailure(403, 20003, 'Authenticate');
      if (list && req.method === 'POST') return create(new URLSearchParams(req.body.toString('utf8')));
      if (list && req.method === 'GET') return page(req);
      const call = one ? calls.get(one[2]!) : undefined;
      if (one && !call) throw notFound(req.path);
      if (call && req.method === 'GET') return { status: 200, body: view(call) };
      if (call && req.method === 'DELETE') {
        if (status(call) !== 'completed')
          throw new TwilioFailure(400, 20009, 'Cannot delete a call that is not yet completed.');
        calls.delete(call.sid);
        return { status: 204 };
      }
      throw new TwilioFailure(405, 20004, 'Method not allowed');
    } catch (err) {
      if (err instanceof TwilioFailure) return failure(err);
      throw err;
    }
  }

  function create(form: URLSearchParams): EmulatorResponse {
    const to = form.get('To');
    const from = form.get('From');
    // The real messages quote the number: the adapter must never copy them into its errors.
    if (!to) throw new TwilioFailure(400, 21201, "No 'To' number is specified");
    if (!from) throw new TwilioFailure(400, 21213, "No 'From' number is specified");
    if (!E164.test(to)) throw new TwilioFailure(400, 21211, `Invalid 'To' Phone Number: ${to}`);
    if (!E164.test(from)) throw new TwilioFailure(400, 21212, `Invalid 'From' Phone Number: ${from}`);
    if (!form.get('Twiml') && !form.get('Url') && !form.get('ApplicationSid')) {
      throw new TwilioFailure(400, 21205, 'Url parameter is required.');
    }
    // The spec gives Url (and the callback URLs) format uri: Twilio fetches them, so they must be absolute http(s).
    for (const name of ['Url', 'FallbackUrl', 'StatusCallback']) {
      const value = form.get(name);
      if (value !== null && !isHttpUrl(value)) throw new TwilioFailure(400, 21205, `${name} is not a valid URL`);
    }
    const call: Call = { sid: `CA${randomBytes(16).toString('hex')}`, to, from, createdAt: Date.now() };
    calls.set(call.sid, call);
    return { status: 201, body: view(call) };
  }

  function page(req: EmulatorRequest): EmulatorResponse {
    const to = req.query.get('To');
    const from = req.query.get('From');
    const pageSize = Math.min(Number(req.query.get('PageSize') ?? 50) || 50, 1000);
    const matching = [...calls.values()]
      .filter((c) => (to === null || c.to === to) && (from === null || c.from === from))
      .sort((a, b) => b.createdAt - a.createdAt);
    const uri = `/2010-04-01/Accounts/${accountSid}/Calls.json?PageSize=${pageSize}&Page=0`;
    return {
      status: 200,
      body: {
        calls: matching.slice(0, pageSize).map(view),
        page: 0,
        page_size: pageSize,
        start: 0,
        end: Math.max(0, Math.min(matching.length, pageSize) - 1),
        uri,
        first_page_uri: uri,
        next_page_uri: null,
        previous_page_uri: null,
      },
    };
  }

  return {
    partner: 'twilio',
    // 1 call per second per account by default; reading and deleting records are not throttled so.
    limits: { perSecond: 1, counts: (req) => req.method === 'POST' && CALLS.test(req.path) },
    handle,
    rateLimited: (retryAfterSeconds) =>
      failure(new TwilioFailure(429, 20429, 'Too Many Requests'), { 'Retry-After': String(retryAfterSeconds) }),
    holdings() {
      const out: Record<string, Holding> = {};
      for (const call of calls.values()) {
        out[call.sid] = {
          personal: { phone: call.to },
          meta: { status: status(call), date_created: view(call).date_created },
        };
      }
      return out;
    },
    reset: () => calls.clear(),
  };
}

function authenticate(req: EmulatorRequest, accountSid: string, authToken: string): void {
  const [scheme, encoded = ''] = (req.headers.authorization ?? '').split(' ');
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  if (scheme?.toLowerCase() !== 'basic' || decoded !== `${accountSid}:${authToken}`) {
    throw new TwilioFailure(401, 20003, 'Authenticate');
  }
}

const notFound = (path: string) => new TwilioFailure(404, 20404, `The requested resource ${path} was not found`);

function failure(f: TwilioFailure, headers: Record<string, string> = {}): EmulatorResponse {
  return {
    status: f.status,
    headers,
    body: {
      code: f.code,
      message: f.message,
      more_info: `https://www.twilio.com/docs/errors/${f.code}`,
      status: f.status,
    },
  };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** Twilio's date form: 'Tue, 03 Nov 2025 02:41:07 +0000'. */
const rfc2822 = (ms: number) => new Date(ms).toUTCString().replace('GMT', '+0000');
