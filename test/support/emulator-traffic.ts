/**
 * What the partners' emulators (in this process) received, per subject: which subjects each request
 * was about, when it arrived and ended, and how many requests about one (subject, partner) were in
 * flight at once. Worker processes elsewhere call the emulators over loopback; this side sees what a
 * real partner would see, so "never two workers on one subject" and "nothing unlogged" are checked
 * where they matter, not in the gateway's own account of itself.
 *
 * A request names its subject by what it carries: a canary value (name, email, phone: see
 * canaryRecord), a Mailchimp member hash (md5 of the email), or an id or pseudonym learned from an
 * earlier request or answer that named exactly one subject.
 */
import { createHash } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../../src/emulator.ts';
import { observeExchanges } from '../../src/sandbox/exchange-observers.ts';

export interface SeenRequest {
  readonly partner: string;
  readonly method: string;
  readonly path: string;
  readonly subjects: readonly string[];
  /** Date.now() when the emulator got it, and when its answer left (or it was dropped). */
  readonly start: number;
  end: number | null;
  status: number | null;
  /** The id of the record an answer to a create named (a replay of an earlier create names it again). */
  createdId: string | null;
  /** Named by a value of the subject's own (not by an id learnt earlier). */
  readonly direct: boolean;
}

export interface Overlap {
  readonly partner: string;
  readonly subjectId: string;
  readonly at: number;
  readonly paths: readonly string[];
}

const CREATES: Readonly<Record<string, (r: EmulatorRequest) => boolean>> = {
  stripe: (r) => r.method === 'POST' && r.path === '/v1/customers',
  intercom: (r) => r.method === 'POST' && r.path === '/contacts',
  auth0: (r) => r.method === 'POST' && r.path === '/api/v2/users',
};

// Ids and pseudonyms: long, with a digit or a separator (cus_…, auth0|…); words (find_by_external_id)
// would only be noise.
const TOKEN = /^(?=.*[\d_|])(?![a-z_]+$)[A-Za-z0-9_|.:-]{10,}$/;

export class EmulatorTraffic {
  readonly requests: SeenRequest[] = [];
  readonly overlaps: Overlap[] = [];
  readonly #byHash = new Map<string, string>();
  /** Token (path segment, id, pseudonym) -> subject; null once two subjects were seen with it. */
  readonly #learned = new Map<string, string | null>();
  readonly #inFlight = new Map<string, SeenRequest[]>();
  readonly #seen = new WeakMap<EmulatorRequest, SeenRequest>();
  readonly #stop: () => void;

  constructor(subjectNumbers: readonly number[]) {
    for (const n of subjectNumbers) {
      const email = `canary-${n}-x7q@example.test`;
      this.#byHash.set(createHash('md5').update(email.toLowerCase()).digest('hex'), `subj-${n}`);
    }
    this.#stop = observeExchanges({
      request: (partner, request) => this.#request(partner, request),
      response: (partner, request, response) => this.#response(partner, request, response),
    });
  }

  stop(): void {
    this.#stop();
  }

  /** Forgets everything seen, as the emulators' reset does (their ids start over). */
  reset(): void {
    this.requests.splice(0);
    this.overlaps.splice(0);
    this.#learned.clear();
    this.#inFlight.clear();
  }

  /** Per partner and subject, the records its creates made (distinct ids; a replayed create names the same). */
  createdIds(partner: string): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const r of this.requests) {
      if (r.partner !== partner || r.createdId === null) continue;
      for (const s of r.subjects) {
        const ids = out.get(s) ?? new Set<string>();
        ids.add(r.createdId);
        out.set(s, ids);
      }
    }
    return out;
  }

  #request(partner: string, request: EmulatorRequest): void {
    const text = textOf(request);
    const subjects = new Set<string>();
    for (const m of text.matchAll(/CanaryGiven(\d+)x7q|canary-(\d+)-x7q@|\+4670(\d{7})/gi)) {
      subjects.add(`subj-${m[1] ?? m[2] ?? Number(m[3]) - 1_000_000}`);
    }
    const tokens = tokensOf(request, text);
    for (const t of tokens) {
      const s = this.#byHash.get(t);
      if (s) subjects.add(s);
    }
    // Learnt only from a request that names its subject by a value of the subject's own, so one wrong
    // guess cannot teach more.
    const direct = subjects.size > 0;
    if (!direct) {
      for (const t of tokens) {
        const s = this.#learned.get(t);
        if (s) subjects.add(s);
      }
    }
    if (direct && subjects.size === 1) {
      const [only] = subjects;
      for (const t of tokens) this.#learn(t, only!);
    }
    const seen: SeenRequest = {
      partner,
      method: request.method,
      path: request.path,
      subjects: [...subjects],
      start: Date.now(),
      end: null,
      status: null,
      createdId: null,
      direct,
    };
    this.requests.push(seen);
    this.#seen.set(request, seen);
    for (const s of subjects) {
      const key = `${partner}\u0000${s}`;
      const flying = this.#inFlight.get(key) ?? [];
      flying.push(seen);
      this.#inFlight.set(key, flying);
      if (flying.length > 1)
        this.overlaps.push({
          partner,
          subjectId: s,
          at: seen.start,
          paths: flying.map((f) => `${f.method} ${f.path}`),
        });
    }
  }

  #response(partner: string, request: EmulatorRequest, response: EmulatorResponse | undefined): void {
    const seen = this.#seen.get(request);
    if (!seen) return;
    seen.end = Date.now();
    seen.status = response?.status ?? null;
    const body = response?.body as { id?: unknown; user_id?: unknown } | undefined;
    const id = typeof body?.user_id === 'string' ? body.user_id : typeof body?.id === 'string' ? body.id : undefined;
    if (id && seen.direct && seen.subjects.length === 1) this.#learn(id, seen.subjects[0]!);
    if (id && response && response.status < 300 && CREATES[partner]?.(request)) seen.createdId = id;
    for (const s of seen.subjects) {
      const key = `${partner}\u0000${s}`;
      this.#inFlight.set(
        key,
        (this.#inFlight.get(key) ?? []).filter((f) => f !== seen),
      );
    }
  }

  #learn(token: string, subject: string): void {
    const known = this.#learned.get(token);
    if (known === undefined) this.#learned.set(token, subject);
    else if (known !== subject) this.#learned.set(token, null);
  }
}

function textOf(request: EmulatorRequest): string {
  const raw = `${request.path} ${request.query.toString()} ${request.body.toString('utf8')}`;
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/** Path segments, query values and string values of a JSON or form body that look like ids or pseudonyms. */
function tokensOf(request: EmulatorRequest, text: string): string[] {
  const out = new Set<string>();
  for (const seg of request.path.split('/')) if (TOKEN.test(decode(seg))) out.add(decode(seg));
  for (const [, v] of request.query) for (const t of v.split(/[\s'":=()]+/)) if (TOKEN.test(t)) out.add(t);
  for (const t of text.split(/[\s'":=(),{}[\]&]+/)) if (TOKEN.test(t) && !t.includes('@')) out.add(t);
  return [...out];
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
