import { afterEach, describe, expect, it, vi } from 'vitest';
import { canaryRecord } from '../support/records.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { permanent } from '../support/memory-adapter.ts';
import { callsAfter, mark, operationsAfter } from './helpers.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const synced = ['auth0', 'elogistik', 'intercom', 'stripe'];

describe('erasure at the month boundary after the subscription ends (injected clock)', () => {
  it('ends 31 Jan 23:59 Stockholm: nothing erased at 23:59:30, everything erased after 1 Feb 00:00', async () => {
    const hooks = { anonymiseCameraData: vi.fn(async () => undefined), erased: vi.fn(async () => undefined) };
    h = await startHarness({
      records: [
        canaryRecord(1, {
          subscription: { start: new Date('2025-01-01T00:00:00Z'), end: new Date('2026-01-31T22:59:00Z') },
        }),
      ],
      overrides: { hooks },
    });
    h.clock.now = new Date('2026-01-31T22:59:30Z'); // 23:59:30 local
    await h.gateway.changed('subj-1');
    await h.gateway.runUntilIdle();
    expect(Object.keys(operationsAfter(h, new Map())).sort()).toEqual(synced);
    expect(await h.gateway.processDueErasures()).toBe(0);
    await h.gateway.runUntilIdle();
    const before = mark(h);
    expect([...h.adapters.values()].flatMap((a) => a.calls.filter((c) => c.operation === 'erase'))).toEqual([]);
    expect(hooks.anonymiseCameraData).not.toHaveBeenCalled();
    const pending = await h.gateway.erasureStatus('subj-1');
    expect(pending.dueAt?.toISOString()).toBe('2026-01-31T23:00:00.000Z');
    expect(pending.tombstoned).toBe(false);

    h.clock.now = new Date('2026-01-31T23:00:01Z'); // 1 Feb 00:00:01 local
    expect(await h.gateway.processDueErasures()).toBe(1);
    await h.gateway.runUntilIdle();
    const erased = operationsAfter(h, before);
    expect(Object.keys(erased).sort()).toEqual(synced);
    for (const ops of Object.values(erased)) expect(ops).toEqual(['erase']);
    expect(hooks.anonymiseCameraData).toHaveBeenCalledExactlyOnceWith('subj-1');

    await h.gateway.processDueErasures(); // the sweep settles any completion the workers raced past
    const done = await h.gateway.erasureStatus('subj-1');
    expect(done).toMatchObject({ tombstoned: true, complete: true });
    expect(Object.fromEntries(done.partners.map((p) => [p.partner, p.state]))).toEqual({
      elogistik: 'confirmed',
      mailchimp: 'nothing-held',
      stripe: 'confirmed',
      intercom: 'confirmed',
      twilio: 'nothing-held',
      auth0: 'confirmed',
      resin: 'nothing-held',
    });
    expect(hooks.erased).toHaveBeenCalledExactlyOnceWith('subj-1');
    for (const a of h.adapters.values()) expect(a.held.size).toBe(0);
  });

  it('an end in the repeated hour of the October DST change is erased at 1 Nov 00:00 CET, not an hour early', async () => {
    h = await startHarness({
      records: [
        canaryRecord(2, {
          subscription: { start: new Date('2025-01-01T00:00:00Z'), end: new Date('2026-10-25T01:30:00Z') },
        }),
      ],
    });
    h.clock.now = new Date('2026-10-26T09:00:00Z');
    await h.gateway.changed('subj-2');
    await h.gateway.runUntilIdle();
    const before = mark(h);
    h.clock.now = new Date('2026-10-31T22:59:59Z'); // 23:59:59 CET: with a summer-time offset this would already be November
    expect(await h.gateway.processDueErasures()).toBe(0);
    await h.gateway.resync();
    await h.gateway.runUntilIdle();
    expect(callsAfter(h, before)).toEqual({});
    h.clock.now = new Date('2026-10-31T23:00:00Z');
    expect(await h.gateway.processDueErasures()).toBe(1);
    await h.gateway.runUntilIdle();
    expect(Object.keys(operationsAfter(h, before)).sort()).toEqual(synced);
  });
});

describe('erase()', () => {
  it('tombstones at once and reaches every partner with an adapter, those we send nothing included', async () => {
    const hooks = { anonymiseCameraData: vi.fn(async () => undefined) };
    h = await startHarness({
      records: [canaryRecord(3, { partnerIds: { resin: ['dev-a', 'dev-b'], twilio: 'CA-call-1' } })],
      overrides: { hooks },
    });
    await h.gateway.changed('subj-3');
    await h.gateway.runUntilIdle();
    const before = mark(h);
    const status = await h.gateway.erase('subj-3', { reason: 'data subject request', operator: 'ops-kim' });
    expect(status.tombstoned).toBe(true);
    expect(status.complete).toBe(false);
    expect(hooks.anonymiseCameraData).toHaveBeenCalledExactlyOnceWith('subj-3');
    await h.gateway.runUntilIdle();
    const erased = callsAfter(h, before);
    expect(Object.keys(erased).sort()).toEqual([...synced, 'resin', 'twilio'].sort());
    expect(erased.resin![0]!.ref.partnerIds).toEqual(['dev-a', 'dev-b']);
    expect(erased.twilio![0]!.ref.partnerIds).toEqual(['CA-call-1']);
    const events = await h.gateway.audit.list({ subjectId: 'subj-3', kind: 'event' });
    expect(events.map((e) => [e.operation, e.trigger, e.operator])).toContainEqual([
      'erasure_requested',
      'erasure',
      'ops-kim',
    ]);
  });

  it('a late job, a changed() or a resync after erasure makes no call anywhere', async () => {
    h = await startHarness({ records: [canaryRecord(4)] });
    await h.gateway.consent.grant('subj-4', 'marketing', { source: 'web-form', evidence: 'form:991' });
    await h.gateway.changed('subj-4');
    await h.gateway.runUntilIdle();
    await h.gateway.erase('subj-4', { reason: 'data subject request' });
    await h.gateway.runUntilIdle();
    const afterErase = mark(h);
    expect([...h.adapters.values()].every((a) => a.held.size === 0)).toBe(true);

    // The host still has the record (it may erase it later): nothing may bring the subject back.
    await h.gateway.resync({ subjects: ['subj-4'], force: true });
    await h.gateway.changed('subj-4');
    await h.gateway.resync();
    await h.gateway.resync({ force: true });
    await h.gateway.consent.withdraw('subj-4', 'marketing', { source: 'written-notice', evidence: 'letter:77' });
    await h.gateway.restrict('subj-4', 'dispute');
    await h.gateway.unrestrict('subj-4');
    await h.gateway.runUntilIdle();
    expect(callsAfter(h, afterErase)).toEqual({});
    await expect(
      h.gateway.consent.grant('subj-4', 'marketing', { source: 'web-form', evidence: 'form:992' }),
    ).rejects.toThrow(/erased/);
  });

  it('completes only when every partner confirmed: a partner failing for good stays visible until redriven', async () => {
    const hooks = { erased: vi.fn(async () => undefined) };
    h = await startHarness({ records: [canaryRecord(5)], overrides: { hooks } });
    await h.gateway.changed('subj-5');
    await h.gateway.runUntilIdle();
    h.adapters.get('elogistik')!.failNext(permanent('elogistik'));
    await h.gateway.erase('subj-5', { reason: 'data subject request' });
    await h.gateway.runUntilIdle();
    await h.gateway.processDueErasures();

    const stuck = await h.gateway.erasureStatus('subj-5');
    expect(stuck.complete).toBe(false);
    expect(stuck.partners.find((p) => p.partner === 'elogistik')!.state).toBe('failed');
    expect(
      stuck.partners
        .filter((p) => p.state === 'confirmed')
        .map((p) => p.partner)
        .sort(),
    ).toEqual(['auth0', 'intercom', 'stripe']);
    expect(hooks.erased).not.toHaveBeenCalled();
    const pending = await h.gateway.pendingErasures();
    expect(pending.map((e) => e.subjectId)).toEqual(['subj-5']);
    expect((await h.gateway.status()).erasures.pending).toBe(1);
    expect(h.adapters.get('elogistik')!.held.size).toBe(1);

    expect(await h.gateway.redrive('elogistik')).toBe(1);
    await h.gateway.runUntilIdle();
    const done = await h.gateway.erasureStatus('subj-5');
    expect(done.complete).toBe(true);
    expect(done.partners.find((p) => p.partner === 'elogistik')!.state).toBe('confirmed');
    expect(hooks.erased).toHaveBeenCalledExactlyOnceWith('subj-5');
    await h.gateway.processDueErasures();
    await h.gateway.runUntilIdle();
    expect(hooks.erased).toHaveBeenCalledTimes(1);
    expect(await h.gateway.pendingErasures()).toEqual([]);
  });

  it('a failing host hook is logged without its message and retried with backoff by processDueErasures()', async () => {
    let failCamera = true;
    let failErased = true;
    const hooks = {
      anonymiseCameraData: vi.fn(async () => {
        if (failCamera) throw new Error('camera store down for CanaryGiven6x7q');
      }),
      erased: vi.fn(async () => {
        if (failErased)
          throw Object.assign(new Error('crm rejected canary-6-x7q@example.test'), { code: 'ECONNRESET' });
      }),
    };
    h = await startHarness({ records: [canaryRecord(6)], overrides: { hooks } });
    await h.gateway.changed('subj-6');
    await h.gateway.runUntilIdle();
    await h.gateway.erase('subj-6', { reason: 'data subject request' });
    await h.gateway.runUntilIdle();
    await h.gateway.processDueErasures();
    // The next attempt waits out its backoff; the camera hook owed keeps the erasure incomplete.
    expect(hooks.anonymiseCameraData).toHaveBeenCalledTimes(1);
    expect((await h.gateway.erasureStatus('subj-6')).complete).toBe(false);
    expect(hooks.erased).not.toHaveBeenCalled();

    h.clock.now = new Date(h.clock.now.getTime() + 61_000);
    failCamera = false;
    await h.gateway.processDueErasures();
    expect(hooks.anonymiseCameraData).toHaveBeenCalledTimes(2);
    expect((await h.gateway.erasureStatus('subj-6')).complete).toBe(true);
    expect(hooks.erased).toHaveBeenCalledTimes(1);

    failErased = false;
    h.clock.now = new Date(h.clock.now.getTime() + 61_000);
    await h.gateway.processDueErasures();
    const cameraCalls = hooks.anonymiseCameraData.mock.calls.length;
    const erasedCalls = hooks.erased.mock.calls.length;
    expect(erasedCalls).toBe(2);
    expect(hooks.anonymiseCameraData).toHaveBeenLastCalledWith('subj-6');
    expect(hooks.erased).toHaveBeenLastCalledWith('subj-6');
    h.clock.now = new Date(h.clock.now.getTime() + 3600_000);
    await h.gateway.processDueErasures();
    // Once a hook succeeded it is not called again.
    expect(hooks.anonymiseCameraData).toHaveBeenCalledTimes(cameraCalls);
    expect(hooks.erased).toHaveBeenCalledTimes(erasedCalls);
    const log = h.logText();
    expect(log).toContain('lifecycle hook failed');
    expect(log).toContain('ECONNRESET');
    expect(log).not.toContain('CanaryGiven6x7q');
    expect(log).not.toContain('canary-6-x7q@example.test');
  });
});
