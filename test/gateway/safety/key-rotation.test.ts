/**
 * Issue 10.2, rotation: `rotatePseudonymKey` moves every partner that knows the subjects by their
 * pseudonym onto the new key's, with the real adapters against the emulators, and puts the store on
 * the new key only when nothing is left under the old. Asserted from what each emulator holds: the
 * subject only under the new pseudonym at E-logistik, the new pseudonym in Stripe's metadata and
 * Intercom's external_id, nothing duplicated; an erasure afterwards leaves nothing anywhere; a
 * rotation killed half-way converges when run again; the transfer log verifies throughout.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PartnerAdapter } from '../../../src/adapter.ts';
import { createGateway } from '../../../src/gateway.ts';
import type { Gateway } from '../../../src/gateway-api.ts';
import { createKeys } from '../../../src/keys.ts';
import {
  canariesOf,
  canaryRecords,
  MemorySource,
  startTestPartners,
  type TestPartners,
} from '../../../src/testing/index.ts';
import { testDatabase } from '../../support/database.ts';
import { capturedLogger } from '../../support/log-capture.ts';
import { policy, writes } from './helpers.ts';

const OLD = 'the-old-pseudonym-key-0123456789';
const NEW = 'the-new-pseudonym-key-9876543210';
const oldKeys = createKeys({ pseudonymKey: OLD }, {});
const newKeys = createKeys({ pseudonymKey: NEW }, {});
const PARTNERS = ['elogistik', 'stripe', 'intercom', 'mailchimp'];
const records = canaryRecords(3);
const ids = records.map((r) => r.id);

let partners: TestPartners;
const cleanups: (() => Promise<void>)[] = [];
beforeAll(async () => {
  partners = await startTestPartners({ partners: PARTNERS });
});
afterAll(() => partners.stop());
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  partners.setFaults({});
  partners.reset();
});

async function store() {
  const db = await testDatabase();
  cleanups.push(async () => {
    await db.close();
    await db.drop();
  });
  const source = new MemorySource(records);
  const log = capturedLogger();
  const open = async (
    secrets: { pseudonymKey: string; previousPseudonymKeys?: string[] },
    extra: { keyRotation?: boolean; adapters?: PartnerAdapter[] } = {},
  ): Promise<Gateway> => {
    const gateway = await createGateway({
      policy,
      database: db,
      adapters: extra.adapters ?? partners.adapters(),
      source,
      secrets,
      logger: log.logger,
      limits: Object.fromEntries(PARTNERS.map((p) => [p, { perSecond: undefined }])),
      retry: { retryLimit: 1, retryDelaySeconds: 1, retryDelayMaxSeconds: 1 },
      ...(extra.keyRotation ? { keyRotation: true } : {}),
    });
    cleanups.push(() => gateway.stop());
    return gateway;
  };
  // Synced under the old key; subj-1 also at Mailchimp (consent), which the rotation must not touch.
  const first = await open({ pseudonymKey: OLD });
  await first.consent.grant('subj-1', 'marketing', { source: 'web-form', evidence: 'form-1' });
  for (const id of ids) await first.changed(id);
  await first.runUntilIdle();
  await first.stop();
  expect(Object.keys(partners.holdings('elogistik')).sort()).toEqual(
    ids.map((id) => oldKeys.pseudonym('elogistik', id)).sort(),
  );
  return { db, open, source, logText: log.text };
}

const rotated = { pseudonymKey: NEW, previousPseudonymKeys: [OLD] };

/** What every partner keyed by the pseudonym holds, read from the emulators. */
function heldPseudonyms() {
  return {
    elogistik: Object.keys(partners.holdings('elogistik')).sort(),
    stripe: Object.values(partners.holdings('stripe'))
      .map((h) => (h.meta as { metadata: { pseudonym: string } }).metadata.pseudonym)
      .sort(),
    intercom: Object.values(partners.holdings('intercom'))
      .map((h) => (h.meta as { external_id: string }).external_id)
      .sort(),
  };
}
const under = (keys: typeof newKeys) => ({
  elogistik: ids.map((id) => keys.pseudonym('elogistik', id)).sort(),
  stripe: ids.map((id) => keys.pseudonym('stripe', id)).sort(),
  intercom: ids.map((id) => keys.pseudonym('intercom', id)).sort(),
});

describe('pseudonym key rotation', () => {
  it('a dry run says what each partner would get and changes nothing; the run moves every partner, logged with the operator', async () => {
    const { open, logText } = await store();
    const mailchimpBefore = JSON.stringify(partners.holdings('mailchimp'));
    const rotation = await open(rotated, { keyRotation: true });
    const seen = partners.requests('elogistik').length + partners.requests('stripe').length;

    const dry = await rotation.rotatePseudonymKey({ dryRun: true, operator: 'ops-kim' });
    expect(dry.state).toBe('dry-run');
    expect(dry.partners.map((p) => [p.partner, p.change, p.pending, p.held])).toEqual([
      ['elogistik', 'moved', 3, 3],
      ['stripe', 'rewritten', 3, 3],
      ['intercom', 'rewritten', 3, 3],
      ['mailchimp', 'unchanged', 0, 0],
    ]);
    expect(partners.requests('elogistik').length + partners.requests('stripe').length).toBe(seen);
    expect(heldPseudonyms()).toEqual(under(oldKeys));

    const mailchimpWrites = writes(partners, 'mailchimp').length;
    const report = await rotation.rotatePseudonymKey({ operator: 'ops-kim' });
    expect(report.state).toBe('complete');
    expect(report.partners.map((p) => [p.partner, p.done, p.retry.length, p.operator.length])).toEqual([
      ['elogistik', 3, 0, 0],
      ['stripe', 3, 0, 0],
      ['intercom', 3, 0, 0],
      ['mailchimp', 0, 0, 0],
    ]);
    // Each partner holds every subject once, under the new pseudonym only.
    expect(heldPseudonyms()).toEqual(under(newKeys));
    expect(Object.keys(partners.holdings('stripe'))).toHaveLength(3);
    expect(writes(partners, 'mailchimp')).toHaveLength(mailchimpWrites);
    expect(JSON.stringify(partners.holdings('mailchimp'))).toBe(mailchimpBefore);
    // E-logistik got the new customer before the old one was deleted, for every subject.
    const elogistik = writes(partners, 'elogistik').slice(-6);
    for (const id of ids) {
      const put = elogistik.findIndex((r) => r.method === 'PUT' && r.path.endsWith(newKeys.pseudonym('elogistik', id)));
      const del = elogistik.findIndex(
        (r) => r.method === 'DELETE' && r.path.endsWith(oldKeys.pseudonym('elogistik', id)),
      );
      expect(put, id).toBeGreaterThanOrEqual(0);
      expect(del, id).toBeGreaterThan(put);
    }

    const log = await rotation.audit.list({ limit: 10_000 });
    expect(
      log.filter((r) => r.operation.startsWith('pseudonym_rotation')).map((r) => [r.operation, r.operator]),
    ).toEqual([
      ['pseudonym_rotation_started', 'ops-kim'],
      ['pseudonym_rotation_completed', 'ops-kim'],
    ]);
    // Every call went through the one path: an intent and an outcome each.
    const intents = log.filter((r) => r.kind === 'intent' && r.operator === 'ops-kim');
    expect(intents.filter((r) => r.operation === 'erase_old_pseudonym')).toHaveLength(3);
    expect(intents.filter((r) => r.partner === 'stripe' && r.operation === 'upsert')).toHaveLength(3);
    const outcomes = new Set(log.filter((r) => r.kind === 'outcome').map((r) => r.intentSeq));
    for (const intent of intents) expect(outcomes.has(intent.seq), intent.operation).toBe(true);
    expect(logText()).not.toContain('Canary');
    // Moving E-logistik to new ids is the rotation, not a repair of lost records.
    expect(log.filter((r) => r.operation === 'drift_repaired')).toEqual([]);
    expect(logText()).not.toMatch(/drift repaired/);

    // Done is done: a rerun has nothing to do.
    expect((await rotation.rotatePseudonymKey({ operator: 'ops-kim' })).state).toBe('already-current');
    await rotation.stop();

    // The store is on the new key: the old one alone is refused, and so is the new one without the
    // old listed (the digests and the erasure marks are derived from it).
    const oldAlone = await open({ pseudonymKey: OLD }).catch((e: Error) => e);
    expect(oldAlone).toMatchObject({ name: 'KeyMismatchError' });
    expect((oldAlone as Error).message).toMatch(/is not the key this store was made with/);
    const newAlone = await open({ pseudonymKey: NEW }).catch((e: Error) => e);
    expect((newAlone as Error).message).toMatch(/PARTNER_GATEWAY_PREVIOUS_PSEUDONYM_KEYS/);

    // With both: the log verifies (rows signed with the key derived from the old one too), nothing
    // looks changed, and an erasure leaves nothing of the subject anywhere.
    const gateway = await open(rotated);
    expect(await gateway.audit.verify()).toMatchObject({ ok: true, problems: [] });
    const summary = await gateway.resync({ dryRun: true });
    expect(Object.values(summary.perPartner).reduce((n, c) => n + c.creates + c.updates, 0)).toBe(0);
    await gateway.erase('subj-1', { reason: 'erasure request' });
    await gateway.runUntilIdle();
    const held = JSON.stringify(partners.allHoldings());
    for (const canary of canariesOf(records[0]!)) expect(held).not.toContain(canary);
    expect(Object.keys(partners.holdings('elogistik'))).toHaveLength(2);
    expect((await gateway.erasureStatus('subj-1')).partners.filter((p) => PARTNERS.includes(p.partner))).toEqual(
      expect.arrayContaining([expect.objectContaining({ partner: 'elogistik', state: 'confirmed' })]),
    );
    expect(await gateway.audit.verify()).toMatchObject({ ok: true });
  });

  it('no gateway starts while a rotation is in progress; killed half-way, the rotation converges when run again', async () => {
    const { open } = await store();
    // The first run dies while E-logistik deletes subj-2's old customer: the call is made, the
    // process never hears back (its intent stays open, as after a kill).
    let sawDelete: () => void;
    const deleting = new Promise<void>((resolve) => (sawDelete = resolve));
    const adapters = partners.adapters().map((adapter): PartnerAdapter => {
      if (adapter.partner !== 'elogistik') return adapter;
      return {
        ...adapter,
        erase: async (ref, mode, ctx) => {
          const result = await adapter.erase(ref, mode, ctx);
          if (ref.pseudonym === oldKeys.pseudonym('elogistik', 'subj-2')) {
            sawDelete();
            return new Promise(() => undefined);
          }
          return result;
        },
      };
    });
    const dying = await open(rotated, { keyRotation: true, adapters });
    void dying.rotatePseudonymKey({ operator: 'ops-kim' });
    await deleting;

    for (const secrets of [{ pseudonymKey: OLD }, { pseudonymKey: NEW, previousPseudonymKeys: [OLD] }]) {
      const refused = await open(secrets).catch((e: Error) => e);
      expect(refused).toMatchObject({ name: 'KeyMismatchError' });
      expect((refused as Error).message).toMatch(/rotation .* is in progress.*rotate-pseudonym-key/);
      expect((refused as Error).message).not.toContain(OLD);
    }

    const rerun = await open(rotated, { keyRotation: true });
    const report = await rerun.rotatePseudonymKey({ operator: 'ops-kim' });
    expect(report.state, JSON.stringify(report.partners)).toBe('complete');
    // The batch in flight when it died is done again (a PUT to the same key, a DELETE that finds
    // nothing): nothing duplicated. Stripe and Intercom, not reached before, are done once.
    expect(report.partners.map((p) => [p.partner, p.pending, p.done])).toEqual([
      ['elogistik', 3, 3],
      ['stripe', 3, 3],
      ['intercom', 3, 3],
      ['mailchimp', 0, 0],
    ]);
    expect(heldPseudonyms()).toEqual(under(newKeys));
    expect(Object.keys(partners.holdings('stripe'))).toHaveLength(3);
    expect(Object.keys(partners.holdings('intercom'))).toHaveLength(3);
    expect(await rerun.audit.verify()).toMatchObject({ ok: true, problems: [] });
    const log = await rerun.audit.list({ limit: 10_000 });
    // The call the dead run never heard back from is closed as unknown, not left open or called ok.
    const died = log.find(
      (r) => r.kind === 'intent' && r.operation === 'erase_old_pseudonym' && r.subjectId === 'subj-2',
    )!;
    expect(log.find((r) => r.kind === 'outcome' && r.intentSeq === died.seq)?.outcome).toBe('unknown');
    expect(log.filter((r) => r.operation.startsWith('pseudonym_rotation')).map((r) => r.operation)).toEqual([
      'pseudonym_rotation_started',
      'pseudonym_rotation_resumed',
      'pseudonym_rotation_completed',
    ]);
    await rerun.stop();

    // Afterwards a gateway with the new key erases everyone, and nothing is left anywhere.
    const gateway = await open(rotated);
    for (const id of ids) await gateway.erase(id, { reason: 'erasure request' });
    await gateway.runUntilIdle();
    for (const p of ['elogistik', 'stripe', 'intercom', 'mailchimp']) expect(partners.holdings(p), p).toEqual({});
    for (const id of ids) {
      const status = await gateway.erasureStatus(id);
      for (const p of status.partners.filter((s) => PARTNERS.includes(s.partner)))
        expect(['confirmed', 'nothing-held'], `${id} ${p.partner}`).toContain(p.state);
    }
  });

  it('a partner failing mid-rotation leaves work to retry and the store on the old key; a rerun finishes', async () => {
    const { open } = await store();
    const rotation = await open(rotated, { keyRotation: true });
    partners.setFaults({ stripe: { errorRate: 1 } });
    const first = await rotation.rotatePseudonymKey({ operator: 'ops-kim' });
    expect(first.state).toBe('in-progress');
    const stripe = first.partners.find((p) => p.partner === 'stripe')!;
    expect(stripe.retry.map((r) => r.subjectId)).toEqual(ids);
    expect(JSON.stringify(first)).not.toContain('Canary');
    // E-logistik and Intercom are done; Stripe still carries the old pseudonym.
    expect(heldPseudonyms()).toEqual({ ...under(newKeys), stripe: under(oldKeys).stripe });

    partners.setFaults({});
    const second = await rotation.rotatePseudonymKey({ operator: 'ops-kim' });
    expect(second.state).toBe('complete');
    expect(second.partners.find((p) => p.partner === 'elogistik')).toMatchObject({ pending: 0 });
    expect(heldPseudonyms()).toEqual(under(newKeys));
    expect(Object.keys(partners.holdings('stripe'))).toHaveLength(3);
  });

  it('a gateway started with the old key before the rotation sends nothing once it began', async () => {
    const { open, source } = await store();
    const stale = await open({ pseudonymKey: OLD });
    const rotation = await open(rotated, { keyRotation: true });
    expect((await rotation.rotatePseudonymKey({ operator: 'ops-kim' })).state).toBe('complete');
    const after = partners.requests('elogistik').length;

    source.put({ ...records[0]!, name: { given: 'CanaryRenamedx7q', family: 'CanaryFamily1x7q' } });
    await stale.changed('subj-1');
    await stale.runUntilIdle({ waitForRetries: true, timeoutMs: 20_000 });
    // Nothing reached any partner from the stale process: no customer under the old pseudonym again.
    expect(
      partners
        .requests('elogistik')
        .slice(after)
        .filter((r) => r.method !== 'GET'),
    ).toEqual([]);
    expect(heldPseudonyms()).toEqual(under(newKeys));
    expect(JSON.stringify(partners.allHoldings())).not.toContain('CanaryRenamedx7q');
    const letters = await stale.deadLetters('elogistik');
    expect(letters.map((l) => l.subjectId)).toEqual(['subj-1']);
    expect(letters[0]!.error).toMatch(/KeyMismatchError/);
  });
});
