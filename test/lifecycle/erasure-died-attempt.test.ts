/**
 * Issue 9, class 4, the kill -9 case: a worker that died between its call and its outcome leaves an
 * intent with no outcome, and the partner may hold what the call made under an id the gateway never
 * learned. The erasure treats the attempt as unknown, searches the partner for what it was given and
 * erases it before it says complete. (The call is made here by the adapter itself, as the dead worker
 * made it, and its intent row is left open, as the dead worker left it.)
 */
import { describe, expect, it } from 'vitest';
import { writeIntents } from '../../src/log/transfer-log.ts';
import { canaryRecord } from '../../src/testing/index.ts';
import { createKeys } from '../../src/keys.ts';
import { testSecrets } from '../support/harness.ts';
import { policy, realGatewaySuite, type RealGateway } from '../support/real-gateway.ts';

const suite = realGatewaySuite();
let running: RealGateway | undefined;

describe('an erasure after a worker died mid-call', () => {
  it('finds and erases what the dead attempt made at Stripe and Intercom, then says complete', async () => {
    const record = canaryRecord(1);
    running = await suite.start({ records: [record] });
    const { gateway } = running;
    const keys = createKeys(testSecrets);
    for (const partner of ['stripe', 'intercom']) {
      const ref = { pseudonym: keys.pseudonym(partner, record.id), partnerIds: [] };
      const payload = { name: record.name, ...(partner === 'intercom' ? { email: record.email } : {}) };
      // The dead worker's call reached the partner; its intent was committed, its outcome never was.
      await suite.partners.adapter(partner).upsert!(
        { payload, ref },
        { correlationId: 'c-dead', idempotencyKey: `k-${partner}` },
      );
      await writeIntents(
        gateway.database,
        [
          {
            subjectId: record.id,
            partner,
            operation: 'upsert',
            purpose: policy.partner(partner).purpose,
            legalBasis: policy.legalBasis(partner),
            trigger: 'change',
            correlationId: 'c-dead',
            fields: ['name.given', 'name.family'],
            categories: ['name'],
            attempt: 1,
            policyDigest: policy.digest,
          },
        ],
        keys.audit,
      );
      expect(Object.keys(suite.partners.holdings(partner)), partner).toHaveLength(1);
    }
    await gateway.erase(record.id, { reason: 'erasure request' });
    await gateway.runUntilIdle();
    for (const p of suite.partners.partners) expect(suite.partners.holdings(p), p).toEqual({});
    const status = await gateway.erasureStatus(record.id);
    expect(status.complete).toBe(true);
    const outcomes = (await gateway.audit.list({ subjectId: record.id, kind: 'outcome' })).filter(
      (r) => r.operation === 'upsert',
    );
    expect(outcomes.map((r) => [r.partner, r.outcome, r.errorCode]).sort()).toEqual([
      ['intercom', 'unknown', 'attempt_died'],
      ['stripe', 'unknown', 'attempt_died'],
    ]);
  });
});
