/**
 * Issue 11, the host's side: a careless or broken host (a source that hangs or throws, ids that are
 * not ids, records with inherited or control-character fields) gets clear errors, leaks nothing and
 * blocks no other subject. Real adapters against the emulators.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import type { RecordSource } from '../../src/source.ts';
import { canaryRecord, MemorySource, startTestPartners, type TestPartners } from '../../src/testing/index.ts';
import { testDatabase } from '../support/database.ts';
import { testSecrets } from '../support/harness.ts';
import { capturedLogger } from '../support/log-capture.ts';

const policy = loadPolicyFile();
let partners: TestPartners;
beforeAll(async () => {
  partners = await startTestPartners();
});
afterAll(() => partners.stop());

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
  partners.reset();
});

async function start(source: RecordSource, extra: { sourceTimeoutMs?: number } = {}) {
  const db = await testDatabase();
  const { logger, text } = capturedLogger();
  const gateway: Gateway = await createGateway({
    policy,
    database: db,
    adapters: partners.adapters(),
    source,
    secrets: testSecrets,
    logger,
    limits: Object.fromEntries(policy.partnerNames.map((p) => [p, { perSecond: undefined }])),
    retry: { retryLimit: 1, retryDelaySeconds: 1, retryDelayMaxSeconds: 1 },
    ...extra,
  });
  close = async () => {
    await gateway.stop();
    await db.close();
    await db.drop();
  };
  return { gateway, logText: text };
}

const heldNames = (partner: string) =>
  Object.values(partners.holdings(partner)).map((h) => (h.personal as { name?: unknown }).name);

describe('a broken source blocks only its own subject', () => {
  it('a get() that throws and one that never settles fail those subjects only, each dead letter saying which call failed', async () => {
    const good = canaryRecord(1);
    const source: RecordSource = {
      get: async (id) => {
        if (id === 'subj-2') throw new TypeError(`cannot read ${canaryRecord(2).email}`);
        if (id === 'subj-3') return new Promise(() => undefined);
        return id === 'subj-1' ? good : null;
      },
      scan: async function* () {},
    };
    const { gateway, logText } = await start(source, { sourceTimeoutMs: 300 });
    for (const id of ['subj-1', 'subj-2', 'subj-3']) await gateway.changed(id);
    await gateway.runUntilIdle({ waitForRetries: true, timeoutMs: 60_000 });
    // The good subject reached every partner it should, despite its batch neighbours.
    expect(Object.keys(partners.holdings('stripe'))).toHaveLength(1);
    const dead = await gateway.deadLetters('stripe');
    expect(dead.map((d) => [d.subjectId, d.error]).sort()).toEqual([
      ['subj-2', 'source.get threw TypeError'],
      ['subj-3', 'source.get did not answer within 300 ms'],
    ]);
    expect(JSON.stringify(dead) + logText()).not.toContain(canaryRecord(2).email);
  });

  it('a record with a throwing getter is one invalid record, not a failed batch', async () => {
    const hostile = {
      ...canaryRecord(5),
      get email(): string {
        throw new Error('boom');
      },
    };
    const records = new Map<string, unknown>([
      ['subj-4', canaryRecord(4)],
      ['subj-5', hostile],
    ]);
    const { gateway } = await start({ get: async (id) => records.get(id) ?? null, scan: async function* () {} });
    await gateway.changed('subj-4');
    await gateway.changed('subj-5');
    await gateway.runUntilIdle();
    expect(Object.keys(partners.holdings('stripe'))).toHaveLength(1);
    const dead = await gateway.deadLetters('stripe');
    expect(dead.map((d) => d.subjectId)).toEqual(['subj-5']);
    expect(dead[0]!.error).toMatch(/could not be read \(Error\)/);
  });
});

describe('subject ids are checked where they come in', () => {
  it('changed(), call() and resync({ subjects }) refuse what is not an id, echoing nothing and enqueueing nothing', async () => {
    const { gateway } = await start(new MemorySource([canaryRecord(6)]));
    const email = canaryRecord(6).email!;
    for (const bad of [email, 'x'.repeat(1_000_000), 'a\u0000b', { id: 'subj-6' }, 42]) {
      const attempts = [
        gateway.changed(bad as string),
        gateway.call(bad as string, 'alarm', { twiml: '<Response/>' }),
        gateway.resync({ subjects: ['subj-6', bad as string] }),
      ];
      for (const attempt of attempts) {
        const error = await attempt.then(
          () => undefined,
          (e: unknown) => e as Error,
        );
        expect(error?.name).toBe('LifecycleInputError');
        expect(error!.message).not.toContain(email);
        expect(error!.message.length).toBeLessThan(200);
      }
    }
    const jobs = await gateway.database.query<{ n: number }>(
      `select count(*)::int as n from ${gateway.database.schema}_queue.job where name like 'partner-gateway.reconcile.%'`,
    );
    expect(jobs[0]!.n).toBe(0);
  });
});

describe('records are read as the host meant them', () => {
  it('a property set on Object.prototype is never taken as the subject’s', async () => {
    const { phone: _phone, ...withoutPhone } = canaryRecord(7);
    const { gateway } = await start(new MemorySource([withoutPhone]));
    const proto = Object.prototype as { phone?: string };
    proto.phone = '+46701112233';
    try {
      await gateway.changed('subj-7');
      await gateway.runUntilIdle();
    } finally {
      delete proto.phone;
    }
    // What the gateway sent (the emulator, in this same polluted process, would read the inherited
    // phone off any object, so the transfer log's field names are the witness).
    const sent = await gateway.audit.list({ subjectId: 'subj-7', partner: 'intercom', kind: 'intent' });
    expect(sent.map((r) => r.fields)).toEqual([['name.given', 'name.family', 'email']]);
  });

  it('control characters and id-shaped personal values are refused; an internationalised email is accepted', async () => {
    const records = [
      { ...canaryRecord(8), name: { given: 'Canary\r\nBcc: x', family: 'Family8' } },
      { ...canaryRecord(9), partnerIds: { auth0: canaryRecord(9).email } },
      { ...canaryRecord(10), email: 'åsa-10@exempel.se' },
    ];
    const { gateway } = await start(new MemorySource(records));
    for (const id of ['subj-8', 'subj-9', 'subj-10']) await gateway.changed(id);
    await gateway.runUntilIdle();
    const dead = await gateway.deadLetters('elogistik');
    expect(dead.map((d) => d.subjectId).sort()).toEqual(['subj-8', 'subj-9']);
    expect(dead.find((d) => d.subjectId === 'subj-8')!.error).toContain(
      'name.given: must not contain control characters',
    );
    expect(dead.find((d) => d.subjectId === 'subj-9')!.error).toContain('partnerIds.auth0: must be 1-128 characters');
    expect(JSON.stringify(dead)).not.toContain(canaryRecord(9).email);
    expect(heldNames('elogistik')).toHaveLength(1);
    const held = Object.values(partners.holdings('elogistik'))[0]!.personal as { email?: string };
    expect(held.email).toBe('åsa-10@exempel.se');
  });
});
