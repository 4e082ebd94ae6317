/**
 * Issue 9, class 1: when erasure falls due follows the master record as it is now. A renewal before
 * the boundary cancels the erasure, a later end moves it, and the retention year runs from the end
 * that stood. Real adapters against the emulators: what is asserted is what each partner holds.
 */
import { describe, expect, it } from 'vitest';
import { canaryRecord } from '../../src/testing/index.ts';
import { realGatewaySuite, type RealGateway } from '../support/real-gateway.ts';

const SYNCED = ['elogistik', 'stripe', 'intercom', 'auth0'];

const suite = realGatewaySuite();
let running: RealGateway | undefined;

/** subj-1 whose subscription ends on 20 January 2026: erasure falls due at the February boundary. */
async function endingInJanuary(): Promise<RealGateway> {
  running = await suite.start({
    records: [
      canaryRecord(1, { subscription: { start: new Date('2025-01-01'), end: new Date('2026-01-20T12:00:00Z') } }),
    ],
    now: new Date('2026-01-21T09:00:00Z'),
  });
  await running.gateway.changed('subj-1');
  await running.gateway.runUntilIdle();
  for (const p of SYNCED) expect(Object.keys(suite.partners.holdings(p)), p).toHaveLength(1);
  expect((await running.gateway.erasureStatus('subj-1')).dueAt).toEqual(new Date('2026-01-31T23:00:00Z'));
  return running;
}

const renewed = () => canaryRecord(1, { subscription: { start: new Date('2025-01-01') } });
const movedTo = (end: string) =>
  canaryRecord(1, { subscription: { start: new Date('2025-01-01'), end: new Date(end) } });

async function pastBoundary(r: RealGateway, at: string): Promise<void> {
  r.clock.now = new Date(at);
  await r.gateway.processDueErasures();
  await r.gateway.runUntilIdle();
}

describe('an erasure scheduled by the subscription end', () => {
  it('is cancelled by a renewal the workers have seen: nothing is erased at the boundary', async () => {
    const r = await endingInJanuary();
    r.source.put(renewed());
    await r.gateway.changed('subj-1');
    await r.gateway.runUntilIdle();
    expect((await r.gateway.erasureStatus('subj-1')).dueAt).toBeNull();

    await pastBoundary(r, '2026-02-02T00:00:00Z');
    for (const p of SYNCED) expect(Object.keys(suite.partners.holdings(p)), p).toHaveLength(1);
    const status = await r.gateway.erasureStatus('subj-1');
    expect([status.tombstoned, status.dueAt]).toEqual([false, null]);
    expect(await r.gateway.pendingErasures()).toEqual([]);
    expect(r.anonymised).toEqual([]);
  });

  it('is cancelled by a renewal the host never announced: the due check re-reads the record', async () => {
    const r = await endingInJanuary();
    r.source.put(renewed()); // no changed(): the workers have not seen it
    await pastBoundary(r, '2026-02-02T00:00:00Z');
    for (const p of SYNCED) expect(Object.keys(suite.partners.holdings(p)), p).toHaveLength(1);
    expect((await r.gateway.erasureStatus('subj-1')).tombstoned).toBe(false);
    const events = (await r.gateway.audit.list({ subjectId: 'subj-1' })).map((e) => e.operation);
    expect(events).toContain('erasure_cancelled');
    expect(events).not.toContain('erasure_due');
  });

  it('moves with a later end: nothing at the old boundary, everything erased at the new one', async () => {
    const r = await endingInJanuary();
    r.source.put(movedTo('2026-03-15T12:00:00Z'));
    await r.gateway.changed('subj-1');
    await r.gateway.runUntilIdle();
    expect((await r.gateway.erasureStatus('subj-1')).dueAt).toEqual(new Date('2026-03-31T22:00:00Z'));

    await pastBoundary(r, '2026-02-02T00:00:00Z');
    for (const p of SYNCED) expect(Object.keys(suite.partners.holdings(p)), p).toHaveLength(1);

    await pastBoundary(r, '2026-04-01T00:00:00Z');
    for (const p of suite.partners.partners) expect(suite.partners.holdings(p), p).toEqual({});
    expect((await r.gateway.erasureStatus('subj-1')).complete).toBe(true);
    expect([r.anonymised, r.erased]).toEqual([['subj-1'], ['subj-1']]);

    // The retention year runs from the end that stood (15 March), not from the first one (20 January).
    r.clock.now = new Date('2027-02-01T00:00:00Z');
    expect((await r.gateway.purgeExpired()).subjects).toBe(0);
    r.clock.now = new Date('2027-03-16T00:00:00Z');
    expect((await r.gateway.purgeExpired()).subjects).toBe(1);
  });

  it('is final once it ran: a renewal after the erasure re-creates nobody', async () => {
    const r = await endingInJanuary();
    await pastBoundary(r, '2026-02-02T00:00:00Z');
    for (const p of suite.partners.partners) expect(suite.partners.holdings(p), p).toEqual({});
    r.source.put(renewed());
    await r.gateway.changed('subj-1');
    await r.gateway.runUntilIdle();
    for (const p of suite.partners.partners) expect(suite.partners.holdings(p), p).toEqual({});
    expect((await r.gateway.erasureStatus('subj-1')).complete).toBe(true);
  });
});
