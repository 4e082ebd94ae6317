/**
 * Issue 12, item 4: whatever the order of record changes and policy changes (a partner narrowed,
 * widened back, removed, added back, made consent-based), a resync and a worker run (with former
 * partners offboarded) leave every partner holding exactly what the current policy projects of the
 * current record, and nothing else, old values included. Real adapters against the emulators; what
 * each partner holds is read from its emulator and compared with a model of the policy written here,
 * not with the gateway's own minimise().
 *
 * One store and one set of emulators serve every run (each run has its own subjects); a policy
 * change deploys a new gateway on the same store, as a host does. Runs: PARTNER_GATEWAY_PROPERTY_RUNS
 * (default 25).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway-api.ts';
import type { Holding } from '../../src/emulator.ts';
import { fromDocument, type PolicyDocument } from '../../src/policy/index.ts';
import type { MasterRecordInput } from '../../src/record.ts';
import { canaryRecord, startTestPartners, type TestPartners } from '../../src/testing/index.ts';
import { basePolicy, startPolicyRun, type PolicyRun } from '../support/policy-change.ts';

const RUNS = Number(process.env.PARTNER_GATEWAY_PROPERTY_RUNS ?? 25);
const SUBJECTS_PER_RUN = 2;
/** The partners kept in step with the record. */
const SYNCED = ['elogistik', 'mailchimp', 'stripe', 'intercom', 'auth0'] as const;
type Synced = (typeof SYNCED)[number];
/**
 * Categories each partner can lose and get back: what the shipped policy sends it beyond what it
 * requires (Intercom's email with its requirement: it cannot clear it, so it is re-created).
 */
const NARROWABLE: Record<Synced, readonly string[]> = {
  elogistik: ['phone', 'email'],
  mailchimp: ['name'],
  stripe: ['name'],
  intercom: ['name', 'phone', 'email'],
  auth0: ['name'],
};
/**
 * Partners that can be removed and added back, or made consent-based. Not Mailchimp: it refuses to
 * import an address it deleted (as the real one does), so it cannot be added back with its members.
 */
const REMOVABLE = ['elogistik', 'stripe', 'intercom', 'auth0'] as const;

type Partners = PolicyDocument['partners'];
type Op =
  | { kind: 'record'; s: number; phone: boolean; address: boolean; email: 'keep' | 'new' | 'none' }
  | { kind: 'grant'; s: number }
  | { kind: 'narrow' | 'widen'; partner: Synced; category: string }
  | { kind: 'remove' | 'add-back'; partner: (typeof REMOVABLE)[number] }
  | { kind: 'consent-based'; partner: (typeof REMOVABLE)[number]; onWithdrawal: 'unsubscribe' | 'delete' }
  | { kind: 'sync' };

const subject = fc.integer({ min: 0, max: SUBJECTS_PER_RUN - 1 });
const narrowing = fc
  .constantFrom(...SYNCED)
  .chain((partner) => fc.record({ partner: fc.constant(partner), category: fc.constantFrom(...NARROWABLE[partner]) }));
const removable = fc.constantFrom(...REMOVABLE);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('record' as const),
      s: subject,
      phone: fc.boolean(),
      address: fc.boolean(),
      email: fc.constantFrom<'keep' | 'new' | 'none'>('keep', 'new', 'none'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('grant' as const), s: subject }) },
  { weight: 3, arbitrary: narrowing.map((n) => ({ kind: 'narrow' as const, ...n })) },
  { weight: 2, arbitrary: narrowing.map((n) => ({ kind: 'widen' as const, ...n })) },
  { weight: 1, arbitrary: removable.map((partner) => ({ kind: 'remove' as const, partner })) },
  { weight: 1, arbitrary: removable.map((partner) => ({ kind: 'add-back' as const, partner })) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('consent-based' as const),
      partner: removable,
      onWithdrawal: fc.constantFrom<'unsubscribe' | 'delete'>('unsubscribe', 'delete'),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'sync' as const }) },
);

let partners: TestPartners;
let r: PolicyRun;
/** The document the running gateway was started with (a JSON string, to compare). */
let running = JSON.stringify(basePolicy.document);
beforeAll(async () => {
  partners = await startTestPartners();
  r = await startPolicyRun(partners, basePolicy);
});
afterAll(async () => {
  await r?.close();
  await partners?.stop();
});

interface Subject {
  readonly n: number;
  readonly id: string;
  phone: boolean;
  address: boolean;
  /** The email's version (a new address each time: Mailchimp never takes a deleted one back), or null. */
  email: number | null;
  granted: boolean;
  /** Every value the subject's record has had: none outside the current projection may be held. */
  readonly ever: Set<string>;
}

let run = 0;
let emailVersion = 0;

describe('policy changes converge', () => {
  it(
    `every partner holds exactly the current policy's projection of the current record (${RUNS} runs)`,
    { timeout: 600_000 },
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), async (ops) => {
          run++;
          const doc = structuredClone(basePolicy.document) as PolicyDocument;
          await deploy(doc);
          const model: Subject[] = Array.from({ length: SUBJECTS_PER_RUN }, (_, k) => {
            const n = 20_000 + run * 10 + k;
            return { n, id: `subj-${n}`, phone: true, address: true, email: 0, granted: k === 0, ever: new Set() };
          });
          for (const m of model) {
            put(m);
            if (m.granted) await r.gateway.consent.grant(m.id, 'marketing', { source: 'web-form' });
            await r.gateway.changed(m.id);
          }
          await r.gateway.runUntilIdle();

          for (const o of ops) await apply(o, doc, model);
          await converge(doc, model);
          check(doc, model);
        }),
        { numRuns: RUNS },
      );
    },
  );
});

function record(m: Subject): MasterRecordInput {
  const base = canaryRecord(m.n);
  const out: MasterRecordInput = { ...base };
  if (!m.phone) delete (out as { phone?: unknown }).phone;
  if (!m.address) delete (out as { address?: unknown }).address;
  if (m.email === null) delete (out as { email?: unknown }).email;
  else out.email = `canary-${m.n}-v${m.email}-x7q@example.test`;
  return out;
}

function put(m: Subject): void {
  const rec = record(m);
  for (const values of Object.values(valuesByCategory(rec))) for (const v of values) m.ever.add(v);
  r.source.put(rec);
}

/** The subject's canary strings per category (the postal code and country are too short to be unique). */
function valuesByCategory(rec: MasterRecordInput): Record<string, string[]> {
  const out: Record<string, string[]> = { name: [rec.name!.given!, rec.name!.family!] };
  if (rec.address) out.address = [rec.address.street!, rec.address.city!];
  if (rec.phone) out.phone = [rec.phone];
  if (rec.email) out.email = [rec.email];
  return out;
}

async function deploy(doc: PolicyDocument): Promise<Gateway> {
  const text = JSON.stringify(doc);
  if (text !== running) {
    await r.switchTo(fromDocument(doc));
    running = text;
  }
  return r.gateway;
}

async function apply(o: Op, doc: PolicyDocument, model: Subject[]): Promise<void> {
  const partnersDoc: Partners = doc.partners;
  const base = basePolicy.document.partners;
  switch (o.kind) {
    case 'record': {
      const m = model[o.s]!;
      m.phone = o.phone;
      m.address = o.address;
      if (o.email === 'none') m.email = null;
      else if (o.email === 'new' || m.email === null) m.email = ++emailVersion;
      put(m);
      await r.gateway.changed(m.id);
      return;
    }
    case 'grant': {
      const m = model[o.s]!;
      if (m.granted) return;
      m.granted = true;
      await r.gateway.consent.grant(m.id, 'marketing', { source: 'web-form' });
      return;
    }
    case 'narrow': {
      const p = partnersDoc[o.partner];
      if (!p) return;
      p.sends = p.sends.filter((c) => c !== o.category);
      p.requires = p.requires.filter((c) => c !== o.category);
      return;
    }
    case 'widen': {
      const p = partnersDoc[o.partner];
      if (!p || p.sends.includes(o.category)) return;
      // Back in the shipped order, with the requirement it had (Intercom's email).
      p.sends = base[o.partner]!.sends.filter((c) => c === o.category || p.sends.includes(c));
      if (base[o.partner]!.requires.includes(o.category)) p.requires = [...p.requires, o.category];
      return;
    }
    case 'remove':
      delete partnersDoc[o.partner];
      return;
    case 'add-back':
      partnersDoc[o.partner] = structuredClone(base[o.partner]!);
      return;
    case 'consent-based': {
      const p = partnersDoc[o.partner];
      if (!p) return;
      p.purpose = 'marketing';
      p.consent = { purpose: 'marketing', onWithdrawal: o.onWithdrawal };
      return;
    }
    case 'sync':
      await converge(doc, model);
      return;
  }
}

/** Deploy the policy as it is now, resync the run's subjects, offboard every former partner, work it off. */
async function converge(doc: PolicyDocument, model: Subject[]): Promise<void> {
  const gateway = await deploy(doc);
  // The run's own subjects: earlier runs' are no business of this one. Consent-based partners may
  // drop several at once, which the deletion limit would hold back for an operator.
  await gateway.resync({ subjects: model.map((m) => m.id), allowMassDeletion: true });
  for (const former of (await gateway.status()).offboarding) if (!former.done) await gateway.offboard(former.partner);
  await gateway.runUntilIdle();
  const status = await gateway.status();
  expect(status.offboarding.filter((o) => !o.done)).toEqual([]);
  expect(
    (await gateway.deadLetters()).map((d) => `${d.partner} ${d.error}`),
    'no job may end as a dead letter',
  ).toEqual([]);
}

/** What the policy document gives the partner of the record: categories, or none at all. */
function projection(doc: PolicyDocument, partner: Synced, m: Subject): string[] {
  const p = doc.partners[partner];
  if (!p || p.mode !== 'sync') return [];
  if (p.consent && !m.granted) return [];
  const present = Object.keys(valuesByCategory(record(m)));
  const categories = p.sends.filter((c) => present.includes(c));
  if (categories.length === 0 || p.requires.some((c) => !present.includes(c))) return [];
  return categories;
}

function check(doc: PolicyDocument, model: Subject[]): void {
  for (const m of model) {
    const current = valuesByCategory(record(m));
    for (const partner of SYNCED) {
      const expected = projection(doc, partner, m);
      const wanted = expected.flatMap((c) => current[c] ?? []);
      const allowed = new Set(wanted);
      const held = holdingsOf(partner, m.ever);
      const what = `${m.id} at ${partner} (policy sends ${doc.partners[partner]?.sends.join(',') ?? 'nothing: removed'})`;
      if (expected.length === 0) {
        expect(held, `${what}: should hold nothing`).toEqual([]);
        continue;
      }
      expect(held, `${what}: one record`).toHaveLength(1);
      const text = JSON.stringify(held[0]!.personal);
      for (const v of wanted) expect(text, `${what}: a value of ${expected.join(',')} missing`).toContain(v);
      const stray = [...m.ever].filter((v) => !allowed.has(v) && text.includes(v));
      expect(stray.length, `${what}: holds ${stray.length} value(s) outside the projection`).toBe(0);
      const categories = Object.keys(held[0]!.personal).map((f) => f.split('.')[0]!);
      expect(
        categories.filter((c) => !expected.includes(c)),
        `${what}: fields outside the projection`,
      ).toEqual([]);
    }
  }
}

/** The partner's records that carry any value the subject's record ever had. */
function holdingsOf(partner: string, values: ReadonlySet<string>): Holding[] {
  return Object.values(partners.holdings(partner)).filter((h) => {
    const text = JSON.stringify(h.personal);
    return [...values].some((v) => text.includes(v));
  });
}
