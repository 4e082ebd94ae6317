/**
 * Every adapter against a hostile local server (node:http on loopback, no nock): every status from
 * 100 to 599 with and without a body, a broken status line, a reset, off-host redirects, 2xx garbage,
 * a 50 MB body and a drip. Each call must end in a PartnerError without anything from the answer in
 * its message, or (2xx, or 404 where it means "gone") in a result with the partner's own id format;
 * never an uncaught exception, never a request to the redirect target, never past its deadline.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartnerError, type CallContext, type PartnerAdapter, type SubjectRef } from '../../src/adapter.ts';
import { partnerModules } from '../index.ts';
import {
  CANARY,
  describeCase,
  hostileCases,
  startLane,
  startRedirectTarget,
  type HostileCase,
  type Lane,
} from './hostile-server.ts';

const TIMEOUT_MS = 1500;
const LANES = 48;

/** A valid id of each partner's own format: what the ops are called with and what a success must carry. */
const ID_FORMAT: Record<string, RegExp> = {
  stripe: /^cus_[A-Za-z0-9]+$/,
  mailchimp: /^[0-9a-f]{32}$/,
  intercom: /^[A-Za-z0-9]{1,64}$/,
  auth0: /^[A-Za-z0-9-]+\|[A-Za-z0-9_-]+$/,
  elogistik: /^psd_[A-Za-z0-9]+$/,
  resin: /^[1-9]\d{0,15}$/,
  twilio: /^CA[0-9a-fA-F]{32}$/,
};
const KNOWN_ID: Record<string, string> = {
  stripe: 'cus_Known1',
  mailchimp: '0123456789abcdef0123456789abcdef',
  intercom: '0123456789abcdef01234567',
  auth0: 'auth0|known1',
  elogistik: 'psd_known1',
  resin: '12345',
  twilio: `CA${'a'.repeat(32)}`,
};

const payload = {
  name: { given: 'Ada-canary-given', family: 'Lovelace-canary-family' },
  email: 'ada.canary@example.test',
  phone: '+15005550006',
  address: { street: 'Canary street 1', postalCode: '12345', city: 'Canaryville', country: 'DE' },
};
const PERSONAL = ['Ada-canary-given', 'Lovelace-canary-family', 'ada.canary@example.test', '+15005550006'];

type Op = { readonly name: string; readonly run: () => Promise<unknown>; readonly goneOn404: boolean };

function operations(partner: string, adapter: PartnerAdapter): Op[] {
  const ctx = (): CallContext => ({ correlationId: 'corr-1', idempotencyKey: `idem-${Math.random()}` });
  const known: SubjectRef = { pseudonym: 'psd_known1', partnerIds: [KNOWN_ID[partner]!] };
  const fresh: SubjectRef = { pseudonym: 'psd_known1', partnerIds: [] };
  const ops: Op[] = [];
  if (adapter.upsert) {
    ops.push({ name: 'upsert(new)', run: () => adapter.upsert!({ payload, ref: fresh }, ctx()), goneOn404: false });
    ops.push({ name: 'upsert(known)', run: () => adapter.upsert!({ payload, ref: known }, ctx()), goneOn404: false });
  }
  if (adapter.upsertBatch) {
    ops.push({
      name: 'upsertBatch',
      run: () => adapter.upsertBatch!([{ payload, ref: fresh }], ctx()),
      goneOn404: false,
    });
    // A consent grant: Mailchimp sends it in its batch call rather than one by one.
    ops.push({
      name: 'upsertBatch(granted)',
      run: () => adapter.upsertBatch!([{ payload, ref: fresh, subscription: 'subscribed' }], ctx()),
      goneOn404: false,
    });
  }
  if (adapter.suppress) ops.push({ name: 'suppress', run: () => adapter.suppress!(known, ctx()), goneOn404: true });
  ops.push({ name: 'erase', run: () => adapter.erase(known, 'delete', ctx()), goneOn404: true });
  if (adapter.fetch) ops.push({ name: 'fetch', run: () => adapter.fetch!(known, ctx()), goneOn404: true });
  if (adapter.find) ops.push({ name: 'find', run: () => adapter.find!(known, ctx()), goneOn404: true });
  if (adapter.act) {
    ops.push({
      name: 'act',
      run: () => adapter.act!({ action: 'alarm', payload, ref: known, params: { twiml: '<Response/>' } }, ctx()),
      goneOn404: false,
    });
  }
  return ops;
}

/** What is wrong with one call's outcome, or undefined when it is one the contract allows. */
function judge(partner: string, op: Op, c: HostileCase, outcome: unknown, failed: boolean, ms: number): string[] {
  const problems: string[] = [];
  const label = `${partner} ${op.name} ${describeCase(c)}`;
  if (ms > TIMEOUT_MS * 3 + 1000) problems.push(`${label}: took ${ms} ms`);
  // A batch fails item by item (the contract's { ok: false, error }): judged as that item's failure.
  if (!failed && op.name.startsWith('upsertBatch') && Array.isArray(outcome) && outcome.length > 0) {
    const items = outcome as { ok?: unknown; error?: unknown }[];
    if (items.every((item) => item?.ok === false)) {
      const judged = items.flatMap((item) => judge(partner, op, c, item.error, true, 0));
      return [...problems, ...judged];
    }
  }
  if (failed) {
    if (!(outcome instanceof PartnerError)) return [...problems, `${label}: rejected with a non-PartnerError`];
    const text = outcome.message;
    if (text.includes(CANARY) || PERSONAL.some((p) => text.includes(p))) problems.push(`${label}: message leaks`);
    return problems;
  }
  const status = c.kind === 'status' || c.kind === 'garbage' ? c.status : undefined;
  const ok2xx = status !== undefined && status >= 200 && status < 300;
  const gone = status === 404 && op.goneOn404;
  if (!ok2xx && !gone) return [...problems, `${label}: resolved`];
  const json = JSON.stringify(outcome) ?? '';
  if (json.includes(CANARY)) problems.push(`${label}: result carries a value from the answer`);
  const ids = collectIds(op.name, outcome);
  for (const id of ids)
    if (typeof id !== 'string' || !ID_FORMAT[partner]!.test(id)) problems.push(`${label}: id ${JSON.stringify(id)}`);
  if (op.name.startsWith('upsert') || op.name === 'act') {
    if (ids.length === 0) problems.push(`${label}: success without a partner id`);
  }
  return problems;
}

function collectIds(op: string, outcome: unknown): unknown[] {
  if (op === 'find') return Array.isArray(outcome) ? outcome : [outcome];
  if (op === 'erase') return (outcome as { removed?: unknown[] } | undefined)?.removed ?? [undefined];
  if (op.startsWith('upsertBatch')) {
    if (!Array.isArray(outcome)) return [undefined];
    return outcome.flatMap((r: { ok?: boolean; result?: { partnerId?: unknown }; partnerId?: unknown }) =>
      r && typeof r === 'object' && 'error' in r ? [] : [r.result?.partnerId ?? r.partnerId],
    );
  }
  if (op.startsWith('upsert') || op === 'act') return [(outcome as { partnerId?: unknown } | undefined)?.partnerId];
  return [];
}

/** One line per operation and kind of problem, with the statuses it hit: a readable failure. */
function summarise(problems: string[]): string[] {
  const groups = new Map<string, string[]>();
  for (const p of problems) {
    const m = /^(\S+ \S+) status (\d+) (\S+): (.*)$/.exec(p);
    const key = m ? `${m[1]} status(${m[3]}): ${m[4]}` : p;
    groups.set(key, [...(groups.get(key) ?? []), ...(m ? [m[2]!] : [])]);
  }
  return [...groups].map(([k, statuses]) => (statuses.length ? `${k} [${ranges(statuses.map(Number))}]` : k));
}

function ranges(ns: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ns.length;) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j]! + 1) j++;
    out.push(i === j ? `${ns[i]}` : `${ns[i]}-${ns[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);
let lanes: Lane[] = [];
let target: Awaited<ReturnType<typeof startRedirectTarget>>;

beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  target = await startRedirectTarget();
  lanes = await Promise.all(Array.from({ length: LANES }, () => startLane(target.origin)));
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
  await Promise.all(lanes.map((l) => l.close()));
  await target.close();
});

// Every adapter, the SDK-based ones too: they speak through the same capped client (sdk-transport.ts).
const swept = partnerModules;

describe.each(swept.map((m) => [m.partner, m] as const))('%s against a hostile server', (partner, mod) => {
  it('ends every call in a PartnerError or a well-formed success, and follows no redirect', async () => {
    const uncaughtBefore = uncaught.length;
    const adapters = lanes.map((lane) =>
      mod.createAdapter({ ...(mod.sandboxOptions(lane.baseUrl) as object), timeoutMs: TIMEOUT_MS } as never),
    );
    const queue = hostileCases();
    const problems: string[] = [];
    let calls = 0;
    await Promise.all(
      lanes.map(async (lane, i) => {
        const adapter = adapters[i]!;
        for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
          lane.current = c;
          for (const op of operations(partner, adapter)) {
            const started = Date.now();
            const before = lane.requests;
            let failed = false;
            const outcome = await op.run().catch((err: unknown) => ((failed = true), err));
            // An operation answered without asking the partner (E-logistik's find) has nothing to judge.
            if (lane.requests === before && !failed) continue;
            calls++;
            problems.push(...judge(partner, op, c, outcome, failed, Date.now() - started));
          }
        }
      }),
    );
    // Time for a late crash (a socket error after the call settled) to surface.
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).toBeGreaterThan(1000);
    expect(summarise(problems)).toEqual([]);
    expect(target.hits).toEqual([]);
    expect(uncaught.slice(uncaughtBefore).map(String)).toEqual([]);
  }, 180_000);
});

// Random JSON answers with a random 2xx: never a success without the partner's own id, never a value
// from the answer in an error or a result, never an uncaught exception.
describe.each(swept.map((m) => [m.partner, m] as const))('%s against random JSON answers', (partner, mod) => {
  it('keeps the contract for any 2xx JSON', async () => {
    const uncaughtBefore = uncaught.length;
    const lane = lanes[0]!;
    const adapter = mod.createAdapter({
      ...(mod.sandboxOptions(lane.baseUrl) as object),
      timeoutMs: TIMEOUT_MS,
    } as never);
    const withCanary = fc.jsonValue().map((v) => ({ v, canary: CANARY }));
    // Shaped like the partners' objects, so the id fields are hit, not only missed.
    const anyId = fc.oneof(fc.string(), fc.constantFrom('..', '../x', '', CANARY), fc.jsonValue());
    const shaped = fc.record(
      {
        id: anyId,
        ref: anyId,
        sid: anyId,
        d: fc.array(fc.record({ id: anyId })),
        data: fc.array(fc.record({ id: anyId })),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.jsonValue(), withCanary, shaped),
        fc.integer({ min: 200, max: 299 }),
        async (value, status) => {
          const c: HostileCase = {
            kind: 'garbage',
            status,
            body: JSON.stringify(value) ?? 'null',
            type: 'application/json',
          };
          lane.current = c;
          for (const op of operations(partner, adapter)) {
            const before = lane.requests;
            let failed = false;
            const outcome = await op.run().catch((err: unknown) => ((failed = true), err));
            if (lane.requests === before && !failed) continue;
            expect(judge(partner, op, c, outcome, failed, 0)).toEqual([]);
          }
        },
      ),
      { numRuns: 60 },
    );
    expect(uncaught.slice(uncaughtBefore).map(String)).toEqual([]);
  }, 120_000);
});
