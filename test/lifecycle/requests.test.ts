import { afterEach, describe, expect, it } from 'vitest';
import { requestDueAt } from '../../src/lifecycle/requests-due.ts';
import { LifecycleInputError } from '../../src/lifecycle/inputs.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { canaryRecord } from '../support/records.ts';
import { count, tableText } from './helpers.ts';

const TZ = 'Europe/Stockholm';

describe('when a request is due (GDPR Art. 12(3), periods counted as Regulation 1182/71 counts them)', () => {
  const due = (received: string, months = 1) => requestDueAt(new Date(received), months, TZ).toISOString();

  it('ends with the last moment of the same date a month later, in Stockholm time', () => {
    // 10 March 12:00 UTC is 13:00 in Stockholm; due at the end of 10 April, summer time (UTC+2).
    expect(due('2026-03-10T12:00:00Z')).toBe('2026-04-10T21:59:59.999Z');
    // 10 January: due at the end of 10 February, winter time (UTC+1).
    expect(due('2026-01-10T08:00:00Z')).toBe('2026-02-10T22:59:59.999Z');
  });

  it('takes the last day of a shorter month, leap years included', () => {
    expect(due('2026-01-31T10:00:00Z')).toBe('2026-02-28T22:59:59.999Z');
    expect(due('2028-01-31T10:00:00Z')).toBe('2028-02-29T22:59:59.999Z');
    expect(due('2026-03-31T10:00:00Z')).toBe('2026-04-30T21:59:59.999Z');
  });

  it('counts from the date in Stockholm, not in UTC', () => {
    // 23:30 UTC on 31 January is 00:30 on 1 February in Stockholm: due at the end of 1 March.
    expect(due('2026-01-31T23:30:00Z')).toBe('2026-03-01T22:59:59.999Z');
  });

  it('runs across a year end and extends by whole months from receipt', () => {
    expect(due('2026-12-15T10:00:00Z')).toBe('2027-01-15T22:59:59.999Z');
    expect(due('2026-11-30T10:00:00Z', 3)).toBe('2027-02-28T22:59:59.999Z');
  });
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const received = new Date('2026-03-10T12:00:00Z');

async function harness(): Promise<Harness> {
  h = await startHarness({ records: [canaryRecord(1), canaryRecord(2)] });
  h.clock.now = new Date(received);
  return h;
}

describe('the request register', () => {
  it('records a request as received, verified and answered, with its due date', async () => {
    const { gateway, clock } = await harness();
    const r = await gateway.requests.receive('subj-1', {
      kind: 'access',
      channel: 'letter',
      reference: 'letter:2026-0107',
      operator: 'ops-lina',
    });
    expect(r).toMatchObject({
      subjectId: 'subj-1',
      kind: 'access',
      receivedAt: received,
      channel: 'letter',
      reference: 'letter:2026-0107',
      verifiedAt: null,
      dueAt: new Date('2026-04-10T21:59:59.999Z'),
      originalDueAt: new Date('2026-04-10T21:59:59.999Z'),
      answeredAt: null,
      state: 'open',
      operator: 'ops-lina',
    });
    clock.now = new Date('2026-03-12T09:00:00Z');
    const verified = await gateway.requests.verify(r.id, { method: 'bankid', reference: 'bankid:0b6f1c' });
    expect(verified).toMatchObject({
      verifiedAt: clock.now,
      verification: 'bankid',
      verificationReference: 'bankid:0b6f1c',
    });
    clock.now = new Date('2026-03-20T09:00:00Z');
    const answered = await gateway.requests.answer(r.id, { channel: 'letter', reference: 'letter:2026-0139' });
    expect(answered).toMatchObject({
      answeredAt: clock.now,
      answerChannel: 'letter',
      answerReference: 'letter:2026-0139',
      outcome: 'fulfilled',
      state: 'answered',
    });
    expect(await gateway.requests.get(r.id)).toEqual(answered);
  });

  it('takes a receipt date in the past (a letter opened today), never one in the future', async () => {
    const { gateway } = await harness();
    const r = await gateway.requests.receive('subj-1', {
      kind: 'erasure',
      channel: 'letter',
      receivedAt: new Date('2026-01-31T10:00:00Z'),
    });
    expect(r.dueAt).toEqual(new Date('2026-02-28T22:59:59.999Z'));
    expect(r.state).toBe('overdue');
    await expect(
      gateway.requests.receive('subj-1', {
        kind: 'erasure',
        channel: 'letter',
        receivedAt: new Date('2026-04-01T00:00:00Z'),
      }),
    ).rejects.toThrow(new LifecycleInputError('receivedAt must not be in the future'));
  });

  it('lists overdue requests first, then open by due date, then answered; overdue() and summary() for status', async () => {
    const { gateway, clock } = await harness();
    const at = (iso: string) => new Date(iso);
    const late = await gateway.requests.receive('subj-1', {
      kind: 'rectification',
      channel: 'email',
      receivedAt: at('2026-01-05T10:00:00Z'),
    });
    const later = await gateway.requests.receive('subj-2', {
      kind: 'objection',
      channel: 'letter',
      receivedAt: at('2026-02-01T10:00:00Z'),
    });
    const soon = await gateway.requests.receive('subj-2', {
      kind: 'access',
      channel: 'letter',
      receivedAt: at('2026-02-14T10:00:00Z'),
    });
    const fresh = await gateway.requests.receive('subj-1', { kind: 'restriction', channel: 'web-form' });
    const done = await gateway.requests.receive('subj-1', {
      kind: 'access',
      channel: 'email',
      receivedAt: at('2026-02-20T10:00:00Z'),
    });
    await gateway.requests.verify(done.id, { method: 'signed-letter' });
    await gateway.requests.answer(done.id, { channel: 'email' });

    const list = await gateway.requests.list();
    expect(list.map((r) => [r.id, r.state])).toEqual([
      [late.id, 'overdue'],
      [later.id, 'overdue'],
      [soon.id, 'open'],
      [fresh.id, 'open'],
      [done.id, 'answered'],
    ]);
    expect((await gateway.requests.overdue()).map((r) => r.id)).toEqual([late.id, later.id]);
    expect(await gateway.requests.summary()).toEqual({
      open: 4,
      overdue: 2,
      unverified: 4,
      dueSoon: 1,
      oldestOverdueDueAt: late.dueAt,
    });
    expect((await gateway.requests.list({ subjectId: 'subj-2' })).map((r) => r.id)).toEqual([later.id, soon.id]);
    expect((await gateway.requests.list({ open: true })).map((r) => r.id)).not.toContain(done.id);
    expect((await gateway.requests.list({ kind: 'access' })).map((r) => r.id)).toEqual([soon.id, done.id]);
    // A day later the open one due on 14 March is overdue too.
    clock.now = at('2026-03-15T00:00:00Z');
    expect((await gateway.requests.overdue()).map((r) => r.id)).toEqual([late.id, later.id, soon.id]);
  });

  it('extends only within the first month, by at most two months, and the extended date counts', async () => {
    const { gateway, clock } = await harness();
    const r = await gateway.requests.receive('subj-1', { kind: 'access', channel: 'letter' });
    await expect(gateway.requests.extend(r.id, { months: 3, reason: 'many requests at once' })).rejects.toThrow(
      /extension must be a whole number of months, 1 to 2/,
    );
    const extended = await gateway.requests.extend(r.id, {
      months: 2,
      reason: 'a complex request spanning seven partners',
    });
    expect(extended).toMatchObject({
      originalDueAt: new Date('2026-04-10T21:59:59.999Z'),
      extendedTo: new Date('2026-06-10T21:59:59.999Z'),
      dueAt: new Date('2026-06-10T21:59:59.999Z'),
      extensionReason: 'a complex request spanning seven partners',
    });
    clock.now = new Date('2026-05-01T00:00:00Z');
    expect((await gateway.requests.get(r.id)).state).toBe('open');
    expect(await gateway.requests.overdue()).toEqual([]);
    const other = await gateway.requests.receive('subj-2', {
      kind: 'erasure',
      channel: 'letter',
      receivedAt: new Date('2026-03-01T10:00:00Z'),
    });
    await expect(gateway.requests.extend(other.id, { months: 1, reason: 'too late' })).rejects.toThrow(
      /past its first month: an extension had to be given/,
    );
  });

  it('answers an unverified request only as refused or withdrawn, and never twice', async () => {
    const { gateway } = await harness();
    const r = await gateway.requests.receive('subj-1', { kind: 'erasure', channel: 'email' });
    await expect(gateway.requests.answer(r.id, { channel: 'email' })).rejects.toThrow(
      /is not verified: verify the requester first/,
    );
    const refused = await gateway.requests.answer(r.id, { channel: 'email', outcome: 'refused' });
    expect(refused.outcome).toBe('refused');
    await expect(gateway.requests.answer(r.id, { channel: 'email', outcome: 'refused' })).rejects.toThrow(
      /was answered already/,
    );
    await expect(gateway.requests.verify(r.id, { method: 'bankid' })).rejects.toThrow(/was answered already/);
  });

  it('refuses bad input with a message that names the argument, never the value', async () => {
    const { gateway } = await harness();
    const secret = 'canary-1-x7q@example.test';
    const attempts: [string, () => Promise<unknown>][] = [
      ['subject id', () => gateway.requests.receive(secret, { kind: 'access', channel: 'letter' })],
      ['request kind', () => gateway.requests.receive('subj-1', { kind: secret as never, channel: 'letter' })],
      ['request channel', () => gateway.requests.receive('subj-1', { kind: 'access', channel: secret })],
      [
        'request reference',
        () => gateway.requests.receive('subj-1', { kind: 'access', channel: 'letter', reference: secret }),
      ],
      ['request id', () => gateway.requests.get(secret)],
      ['request id', () => gateway.requests.verify('1 or 1=1', { method: 'bankid' })],
      ['verification method', () => gateway.requests.verify('1', { method: secret })],
    ];
    for (const [what, attempt] of attempts) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, what).toBeInstanceOf(LifecycleInputError);
      expect((error as Error).message, what).toContain(what);
      expect((error as Error).message, what).not.toContain(secret);
    }
    await expect(gateway.requests.get('999')).rejects.toThrow('request 999 is not in the register');
  });

  it('logs each step as an event naming the kind, with no reference, reason or channel', async () => {
    const { gateway } = await harness();
    const r = await gateway.requests.receive('subj-1', {
      kind: 'access',
      channel: 'letter',
      reference: 'letter:2026-0107',
      operator: 'ops-lina',
    });
    await gateway.requests.verify(r.id, {
      method: 'signed-letter',
      reference: 'letter:2026-0107',
      operator: 'ops-lina',
    });
    await gateway.requests.extend(r.id, { months: 1, reason: 'Subject asked by phone from +46701000001' });
    await gateway.requests.answer(r.id, { channel: 'letter', reference: 'letter:2026-0139' });
    const events = (await gateway.audit.list({ subjectId: 'subj-1' })).map((e) => [e.operation, e.operator]);
    expect(events).toEqual([
      ['request_received:access', 'ops-lina'],
      ['request_verified:access', 'ops-lina'],
      ['request_extended:access', null],
      ['request_answered:access', null],
    ]);
    const log = await tableText(h!, 'transfer_log');
    for (const text of ['letter:2026-0107', 'letter:2026-0139', '+46701000001', 'signed-letter'])
      expect(log).not.toContain(text);
  });

  it('purges an answered request one retention period after the answer, once the retention purge removed the subject, which waits for open requests', async () => {
    const { gateway, clock } = await harness();
    await gateway.changed('subj-1');
    await gateway.changed('subj-2');
    await gateway.runUntilIdle();
    const answered = await gateway.requests.receive('subj-1', { kind: 'erasure', channel: 'letter' });
    await gateway.requests.verify(answered.id, { method: 'signed-letter' });
    const open = await gateway.requests.receive('subj-1', { kind: 'access', channel: 'letter' });
    const live = await gateway.requests.receive('subj-2', { kind: 'access', channel: 'letter' });
    await gateway.requests.verify(live.id, { method: 'bankid' });
    await gateway.requests.answer(live.id, { channel: 'email' });
    // subj-1 is erased on request and the request answered; subj-2 stays a customer.
    await gateway.erase('subj-1', { reason: 'erasure request' });
    await gateway.runUntilIdle();
    await gateway.processDueErasures();
    await gateway.requests.answer(answered.id, { channel: 'letter' });

    // Within the retention period nothing goes, neither the subject's rows nor its requests.
    clock.now = new Date('2026-12-01T00:00:00Z');
    expect((await gateway.purgeExpired()).subjects).toBe(0);
    expect(await gateway.requests.purgeExpired()).toBe(0);
    // A year on, the open access request still keeps subj-1's rows: it has to be answered from them
    // (the recipients are in the transfer log).
    clock.now = new Date('2027-03-21T00:00:00Z');
    expect((await gateway.purgeExpired()).subjects).toBe(0);
    expect((await gateway.requests.get(open.id)).state).toBe('overdue');
    // Once it is answered, the retention purge removes subj-1's rows and with them the request answered
    // a year ago (it calls the register's purge); the one answered today stays its own retention period,
    // and a live customer's answered request stays with the relationship.
    await gateway.requests.answer(open.id, { channel: 'letter', outcome: 'refused' });
    expect((await gateway.purgeExpired()).subjects).toBe(1);
    expect(await gateway.requests.purgeExpired()).toBe(0);
    await expect(gateway.requests.get(answered.id)).rejects.toThrow(/not in the register/);
    expect((await gateway.requests.get(open.id)).state).toBe('answered');
    expect((await gateway.requests.get(live.id)).state).toBe('answered');
    expect(await count(h!, `select id from subject_requests`)).toBe(2);
    expect((await gateway.audit.list()).filter((e) => e.operation === 'requests_purge')).toHaveLength(1);
  });
});
