/**
 * Issue 9, class 4: a call that sent data and lost its answer may have left a record at the partner
 * under an id the gateway never learned. Erasure is not complete until that is settled: by searching
 * the partner for what it was given (the pseudonym), or by an operator. Real adapters against the
 * emulators; what is asserted is what each partner holds afterwards.
 */
import { describe, expect, it } from 'vitest';
import { canaryRecord } from '../../src/testing/index.ts';
import { realGatewaySuite, type RealGateway } from '../support/real-gateway.ts';

/** The partners the default policy syncs every customer to. */
const SYNCED = ['elogistik', 'stripe', 'intercom', 'auth0'];
/** The partners an erasure can search for what a lost answer left (adapter.find). */
const SEARCHABLE = ['stripe', 'intercom', 'elogistik'];

const suite = realGatewaySuite();
let running: RealGateway | undefined;

async function start(): Promise<RealGateway> {
  running = await suite.start({
    records: [canaryRecord(1), canaryRecord(2)],
    // Short timeouts where an answer is held back (the searchable partners): it is given up on
    // quickly. Not Auth0's: its deadline covers the token call too, and a slow machine must not turn
    // a plain create there into an unknown outcome that only an operator can settle.
    adapterOptions: Object.fromEntries(SEARCHABLE.map((p) => [p, { timeoutMs: 400 }])),
  });
  return running;
}

/** The partner acted on every request, and the answer never came back. */
function answersLost(names: readonly string[], kind: 'dropRate' | 'timeoutRate') {
  suite.partners.setFaults(Object.fromEntries(names.map((p) => [p, { [kind]: 1, afterHandling: true }])));
}

const heldAt = (partner: string) => Object.keys(suite.partners.holdings(partner)).length;

describe('an erasure after a call whose answer was lost', () => {
  for (const kind of ['dropRate', 'timeoutRate'] as const) {
    it(`finds and erases what the partner made, before it says complete (${kind === 'dropRate' ? 'connection dropped' : 'timeout'})`, async () => {
      const { gateway, erased } = await start();
      answersLost(SEARCHABLE, kind);
      await gateway.changed('subj-1');
      await gateway.runUntilIdle();
      // Each partner made the subject, and the gateway never learned its id there.
      for (const p of SEARCHABLE) expect(heldAt(p), p).toBe(1);
      const links = await gateway.database.query<{ partner: string; n: number }>(
        `select partner, jsonb_array_length(partner_ids)::int as n from links where subject_id = 'subj-1' and holds`,
      );
      expect(links.map((l) => l.partner).sort()).toEqual(['auth0']);
      const log = await gateway.audit.list({ subjectId: 'subj-1' });
      expect(log.filter((r) => r.kind === 'outcome' && r.partner === 'stripe').map((r) => r.outcome)).toEqual([
        'unknown',
      ]);

      suite.partners.setFaults({});
      await gateway.erase('subj-1', { reason: 'erasure request' });
      await gateway.runUntilIdle({ waitForRetries: true });
      for (const p of suite.partners.partners) expect(suite.partners.holdings(p), p).toEqual({});
      const status = await gateway.erasureStatus('subj-1');
      expect(status.complete).toBe(true);
      expect(status.partners.every((p) => p.uncertainSince === null)).toBe(true);
      expect(erased).toEqual(['subj-1']);
      // Stripe was searched by the pseudonym it was given, never by a personal value.
      const searches = suite.partners.requests('stripe').filter((r) => r.path === '/v1/customers/search');
      expect(searches.length).toBeGreaterThan(0);
      for (const s of searches) expect(s.queryKeys).toEqual(['query', 'limit']);
    });
  }

  it('stays incomplete where the partner cannot be searched, until an operator resolves it (logged)', async () => {
    const { gateway, erased } = await start();
    // A first subject, so the adapter holds its Auth0 token before the answers are lost.
    await gateway.changed('subj-1');
    await gateway.runUntilIdle();
    const first = Object.keys(suite.partners.holdings('auth0'));
    // Auth0 is made by email and has no pseudonym to search by; a create whose answer was lost.
    answersLost(['auth0'], 'dropRate');
    await gateway.changed('subj-2');
    await gateway.runUntilIdle();
    expect(heldAt('auth0')).toBe(2);
    suite.partners.setFaults({});
    // Erased before the create was retried: the gateway has no id for the Auth0 user.
    await gateway.erase('subj-2', { reason: 'erasure request' });
    await gateway.runUntilIdle({ waitForRetries: true });
    await gateway.processDueErasures();

    const status = await gateway.erasureStatus('subj-2');
    expect(status.complete).toBe(false);
    const auth0 = status.partners.find((p) => p.partner === 'auth0')!;
    expect(auth0.state).toBe('unknown');
    expect(auth0.uncertainSince).toBeInstanceOf(Date);
    for (const p of status.partners.filter((p) => p.partner !== 'auth0'))
      expect(p.state, p.partner).not.toBe('unknown');
    expect(erased).toEqual([]);
    expect((await gateway.pendingErasures()).map((s) => s.subjectId)).toEqual(['subj-2']);

    // The operator finds the user in Auth0's dashboard and deletes it there, then says so.
    await expect(gateway.resolveErasure('subj-2', 'auth0', { resolution: 'deleted-manually' })).rejects.toThrow(
      /operator is required/,
    );
    await expect(
      gateway.resolveErasure('subj-2', 'auth0', { resolution: 'gone' as never, operator: 'ops-kim' }),
    ).rejects.toThrow(/resolution must be one of/);
    for (const id of Object.keys(suite.partners.holdings('auth0')).filter((id) => !first.includes(id))) {
      await suite.partners.adapter('auth0').erase({ pseudonym: 'x', partnerIds: [id] }, 'delete', {
        correlationId: 'ops',
        idempotencyKey: 'ops',
      });
    }
    const after = await gateway.resolveErasure('subj-2', 'auth0', {
      resolution: 'deleted-manually',
      operator: 'ops-kim',
    });
    expect(after.complete).toBe(true);
    expect(erased).toEqual(['subj-2']);
    expect(Object.keys(suite.partners.holdings('auth0'))).toEqual(first);
    const events = (await gateway.audit.list({ subjectId: 'subj-2' })).filter((r) => r.kind === 'event');
    expect(events).toContainEqual(
      expect.objectContaining({
        operation: 'erasure_resolved:deleted-manually',
        partner: 'auth0',
        operator: 'ops-kim',
      }),
    );
    await expect(
      gateway.resolveErasure('subj-2', 'auth0', { resolution: 'none-found', operator: 'ops-kim' }),
    ).rejects.toThrow(/nothing to resolve/);
  });
});

describe('an erasure after calls that all confirmed', () => {
  it('erases by the ids the partners gave and spends no search', async () => {
    // The adapters' own timeouts: no answer is given up on, so every outcome is known.
    running = await suite.start({ records: [canaryRecord(1)] });
    const { gateway } = running;
    await gateway.changed('subj-1');
    await gateway.runUntilIdle();
    const since = new Date();
    await gateway.erase('subj-1', { reason: 'erasure request' });
    await gateway.runUntilIdle({ waitForRetries: true });
    expect((await gateway.erasureStatus('subj-1')).complete).toBe(true);
    for (const p of SYNCED) expect(suite.partners.holdings(p), p).toEqual({});
    // Every id is known, so nothing can hide under another: one DELETE each, no search first.
    const searches = ['stripe', 'intercom'].flatMap((p) =>
      suite.partners.requests(p, since).filter((r) => r.method !== 'DELETE'),
    );
    expect(searches).toEqual([]);
  });
});
