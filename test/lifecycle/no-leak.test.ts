import { afterEach, describe, expect, it } from 'vitest';
import { PartnerError } from '../../src/adapter.ts';
import { canariesOf, canaryRecord } from '../support/records.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { permanent } from '../support/memory-adapter.ts';
import { tableText, webConsent, writtenWithdrawal } from './helpers.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('no personal value leaks out of the lifecycle', () => {
  it('leaves no canary in the transfer log, the consent ledger, the queue or the log output', async () => {
    const records = [
      canaryRecord(1),
      canaryRecord(2),
      canaryRecord(3, {
        subscription: { start: new Date('2025-01-01T00:00:00Z'), end: new Date('2026-02-10T10:00:00Z') },
      }),
    ];
    const rectified = canaryRecord(1, { email: 'canary-1-rectified-x7q@example.test', phone: '+46709990001' });
    const canaries = [...records, rectified].flatMap(canariesOf);
    const refusedOnce = new Set<string>();
    const hooks = {
      // Host errors may quote anything: the gateway must not repeat them. (Refused once per subject:
      // an erasure whose camera hook never succeeds stays incomplete, and is never purged.)
      anonymiseCameraData: async (id: string) => {
        if (refusedOnce.has(id)) return;
        refusedOnce.add(id);
        throw new Error(`camera store refused ${canaries[0]}`);
      },
    };
    h = await startHarness({ records, overrides: { hooks } });
    for (const id of ['subj-1', 'subj-2', 'subj-3']) {
      await h.gateway.consent.grant(id, 'marketing', webConsent);
      await h.gateway.changed(id);
    }
    await h.gateway.runUntilIdle();
    h.source.put(rectified);
    await h.gateway.changed('subj-1', { operator: 'ops-kim' });
    await h.gateway.consent.withdraw('subj-1', 'marketing', writtenWithdrawal);
    await h.gateway.restrict('subj-2', 'accuracy contested', { operator: 'ops-kim' });
    await h.gateway.runUntilIdle();
    await h.gateway.unrestrict('subj-2');
    h.adapters.get('stripe')!.failNext(permanent('stripe'));
    await h.gateway.erase('subj-2', { reason: 'data subject request', operator: 'ops-kim' });
    await h.gateway.runUntilIdle();
    h.adapters.get('intercom')!.fetch = async () => {
      throw new PartnerError({
        partner: 'intercom',
        operation: 'fetch',
        kind: 'permanent',
        status: 404,
        code: 'not_found',
      });
    };
    h.adapters.get('auth0')!.fetch = async () => {
      throw new Error(`no user ${canaries[4]}`);
    };
    const report = await h.gateway.access('subj-1', { live: true });
    h.clock.now = new Date('2026-03-02T00:00:00Z');
    await h.gateway.processDueErasures();
    await h.gateway.runUntilIdle();
    await h.gateway.redrive('stripe');
    await h.gateway.runUntilIdle();
    await h.gateway.processDueErasures();
    h.clock.now = new Date('2027-04-01T00:00:00Z');
    await h.gateway.processDueErasures();
    expect((await h.gateway.purgeExpired()).subjects).toBeGreaterThan(0);
    expect((await h.gateway.audit.verify()).ok).toBe(true);

    // The report itself is for the subject and does carry their data (that is its point)...
    expect(JSON.stringify(report)).toContain('canary-1-rectified-x7q@example.test');
    // ...but nothing the gateway keeps or logs does.
    const kept = {
      transfer_log: await tableText(h, 'transfer_log'),
      consent_ledger: await tableText(h, 'consent_ledger'),
      tombstones: await tableText(h, 'tombstones'),
      subjects: await tableText(h, 'subjects'),
      links: await tableText(h, 'links'),
      queue: await tableText(h, `${h.gateway.database.schema}_queue.job`),
      log: h.logText(),
    };
    expect(kept.transfer_log.length).toBeGreaterThan(1000);
    expect(kept.consent_ledger).toContain('letter:2026-0042');
    expect(kept.log).toContain('lifecycle hook failed');
    for (const [where, text] of Object.entries(kept)) {
      for (const canary of canaries) expect(text.includes(canary), `${where} contains a personal value`).toBe(false);
    }
  });
});
