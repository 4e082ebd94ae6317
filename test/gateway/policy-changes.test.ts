/**
 * Issue 12, item 4: every policy change reaches the partners. With the real adapters against the
 * emulators, a host deploys an edited policy (a new gateway on the same store) and resyncs; what
 * each partner then holds is read from its emulator.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Holding } from '../../src/emulator.ts';
import { canariesOf, canaryRecord, startTestPartners, type TestPartners } from '../../src/testing/index.ts';
import { basePolicy, policyWith, startPolicyRun, type PolicyRun } from '../support/policy-change.ts';

let partners: TestPartners;
let run: PolicyRun | undefined;
beforeAll(async () => {
  partners = await startTestPartners();
});
afterAll(() => partners?.stop());
afterEach(async () => {
  await run?.close();
  run = undefined;
  partners.reset();
});

const a = canaryRecord(1);
const b = canaryRecord(2);
const webConsent = { source: 'web-form', evidence: 'form-submission:1' };

/** The one record the partner holds carrying the subject's email or pseudonym-made contact, by canary. */
function heldOf(partner: string, record: typeof a): Holding[] {
  const canaries = canariesOf(record);
  return Object.values(partners.holdings(partner)).filter((h) =>
    canaries.some((c) => JSON.stringify(h.personal).includes(c)),
  );
}

async function started(records = [a, b]): Promise<PolicyRun> {
  run = await startPolicyRun(partners, basePolicy, records);
  for (const r of records) await run.gateway.changed(r.id);
  await run.gateway.runUntilIdle();
  return run;
}

function expectNoLeak(r: PolicyRun, records = [a, b]): void {
  const text = r.logText();
  for (const c of records.flatMap(canariesOf)) expect(text).not.toContain(c);
}

describe('a narrowed policy', () => {
  it('clears what the partner may no longer have: Intercom holds no phone after it loses the category', async () => {
    const r = await started();
    expect(heldOf('intercom', a)[0]!.personal).toHaveProperty('phone');
    const narrowed = policyWith((p) => void (p.intercom!.sends = ['name', 'email']));
    const gateway = await r.switchTo(narrowed);

    // Under the new policy nothing is known to be in step until a resync has looked.
    const before = await gateway.status();
    expect(before.policy.digest).toBe(narrowed.digest);
    expect(before.policy.notInStep).toContainEqual({ partner: 'intercom', subjects: 2 });

    const summary = await gateway.resync();
    expect(summary.perPartner.intercom).toMatchObject({ updates: 2 });
    // Partners the change does not concern are in step without a call.
    expect(summary.perPartner.elogistik).toMatchObject({ updates: 0, unchanged: 2 });
    await gateway.runUntilIdle();

    for (const record of [a, b]) {
      const [held] = heldOf('intercom', record);
      expect(held!.personal).not.toHaveProperty('phone');
      expect(JSON.stringify(held!.personal)).not.toContain(record.phone);
      expect(JSON.stringify(held!.personal)).toContain(record.email);
    }
    // E-logistik still has the phone: only Intercom was narrowed.
    expect(heldOf('elogistik', a)[0]!.personal).toHaveProperty('phone');
    expect((await gateway.status()).policy.notInStep).toEqual([]);
    // The transfer that cleared it names the policy it was made under, and no phone.
    const upserts = (await gateway.audit.list({ partner: 'intercom', subjectId: a.id, kind: 'intent' })).filter(
      (row) => row.operation === 'upsert',
    );
    expect(upserts.at(-1)).toMatchObject({ policyDigest: narrowed.digest, categories: ['name', 'email'] });
    expect(upserts[0]!.policyDigest).toBe(basePolicy.digest);
    expect((await gateway.audit.verify()).ok).toBe(true);
    // The digest is part of what is signed: a row claiming another policy no longer verifies.
    await gateway.database.query(`update transfer_log set policy_digest = $2 where seq = $1`, [
      upserts.at(-1)!.seq,
      basePolicy.digest,
    ]);
    expect((await gateway.audit.verify()).ok).toBe(false);
    expectNoLeak(r);
  });

  it('re-creates the subject without a field the partner cannot clear (Intercom loses the email)', async () => {
    const r = await started([a]);
    const [before] = heldOf('intercom', a);
    expect(before!.personal).toHaveProperty('email');
    const gateway = await r.switchTo(
      policyWith((p) => {
        p.intercom!.sends = ['name', 'phone'];
        p.intercom!.requires = [];
      }),
    );
    await gateway.resync();
    await gateway.runUntilIdle();

    const held = heldOf('intercom', a);
    expect(held).toHaveLength(1);
    expect(held[0]!.personal).not.toHaveProperty('email');
    expect(JSON.stringify(partners.holdings('intercom'))).not.toContain(a.email);
    expect(held[0]!.personal).toHaveProperty('phone');
    const ops = (await gateway.audit.list({ partner: 'intercom', subjectId: a.id, kind: 'intent' })).map(
      (row) => row.operation,
    );
    expect(ops).toEqual(['upsert', 'erase', 'upsert']);
    expectNoLeak(r, [a]);
  });
});

describe('a partner removed from the policy', () => {
  it('starts, shows the partner to offboard, and offboard() erases everything there', async () => {
    const r = await started();
    expect(heldOf('intercom', a)).toHaveLength(1);
    const gateway = await r.switchTo(policyWith((p) => void delete p.intercom));

    const before = await gateway.status();
    expect(before.offboarding).toEqual([{ partner: 'intercom', adapter: true, holding: 2, erased: 0, done: false }]);
    // A record change sends a former partner nothing.
    await gateway.changed(a.id);
    await gateway.runUntilIdle();
    expect(heldOf('intercom', a)).toHaveLength(1);

    const dry = await gateway.offboard('intercom', { dryRun: true });
    expect(dry).toMatchObject({ enqueued: 0, holding: 2, done: false });
    const started_ = await gateway.offboard('intercom', { operator: 'ops@example.test' });
    expect(started_).toMatchObject({ enqueued: 2, holding: 2, done: false });
    await gateway.runUntilIdle();

    expect(partners.holdings('intercom')).toEqual({});
    const after = await gateway.status();
    expect(after.offboarding).toEqual([{ partner: 'intercom', adapter: true, holding: 0, erased: 2, done: true }]);
    // The other partners keep what the policy still gives them.
    expect(heldOf('elogistik', a)).toHaveLength(1);

    const log = await gateway.audit.list({ partner: 'intercom' });
    expect(log.filter((row) => row.kind === 'event' && row.operation === 'offboard')).toEqual([
      expect.objectContaining({ operator: 'ops@example.test', trigger: 'ops' }),
    ]);
    const erases = log.filter((row) => row.kind === 'intent' && row.operation === 'erase');
    expect(erases).toHaveLength(2);
    for (const row of erases)
      expect(row).toMatchObject({ purpose: 'offboarding', legalBasis: 'legal_obligation', trigger: 'ops' });
    expect((await gateway.audit.verify()).ok).toBe(true);
    expectNoLeak(r);
  });

  it('an erasure before offboarding reaches the former partner too, and is complete only once it did', async () => {
    const r = await started([a]);
    const gateway = await r.switchTo(policyWith((p) => void delete p.intercom));
    await gateway.erase(a.id, { reason: 'erasure request (letter 1)' });
    const pending = await gateway.erasureStatus(a.id);
    expect(pending.complete).toBe(false);
    expect(pending.partners.find((p) => p.partner === 'intercom')).toMatchObject({ state: 'pending' });
    await gateway.runUntilIdle();
    expect(heldOf('intercom', a)).toEqual([]);
    const done = await gateway.erasureStatus(a.id);
    expect(done.complete).toBe(true);
    expect(done.partners.find((p) => p.partner === 'intercom')).toMatchObject({ state: 'confirmed' });
    expect((await gateway.status()).offboarding).toEqual([
      { partner: 'intercom', adapter: true, holding: 0, erased: 1, done: true },
    ]);
  });

  it('refuses to offboard a partner the policy still names, or one without an adapter', async () => {
    const r = await started([a]);
    await expect(r.gateway.offboard('intercom')).rejects.toThrow(/the policy still names it/);
    await expect(r.gateway.offboard('shopify')).rejects.toThrow(/no adapter was given for it/);
  });
});

describe('a partner made consent-based', () => {
  it('drops every subject without a grant and keeps those with one', async () => {
    const r = await started();
    await r.gateway.consent.grant(a.id, 'marketing', webConsent);
    const gateway = await r.switchTo(
      policyWith((p) => {
        p.intercom!.purpose = 'marketing';
        p.intercom!.consent = { purpose: 'marketing', onWithdrawal: 'unsubscribe' };
      }),
    );
    const summary = await gateway.resync();
    expect(summary.perPartner.intercom).toMatchObject({ erasures: 1 });
    await gateway.runUntilIdle();

    expect(heldOf('intercom', b)).toEqual([]);
    expect(heldOf('intercom', a)).toHaveLength(1);
    // Mailchimp was consent-based all along: b, never subscribed, was never there.
    expect(heldOf('mailchimp', b)).toEqual([]);
    const erase = (await gateway.audit.list({ partner: 'intercom', subjectId: b.id, kind: 'intent' })).at(-1);
    expect(erase).toMatchObject({ operation: 'erase', trigger: 'consent' });
    expect((await gateway.status()).policy.notInStep).toEqual([]);
    expectNoLeak(r);
  });
});
