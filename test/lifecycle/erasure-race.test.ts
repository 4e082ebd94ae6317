/**
 * Issue 9, class 9: nothing is sent for a subject once its tombstone is committed, even by a worker
 * that planned before it (it read the record and the state first), and the erasure completes when
 * the last partner settles, not at the next sweep.
 */
import { describe, expect, it } from 'vitest';
import type { MasterRecordInput } from '../../src/record.ts';
import { canaryRecord } from '../../src/testing/index.ts';
import { realGatewaySuite, type RealGateway } from '../support/real-gateway.ts';

const suite = realGatewaySuite();
let running: RealGateway | undefined;

const writes = (partner: string) =>
  suite.partners.requests(partner).filter((r) => r.method !== 'GET' && !r.path.startsWith('/oauth/'));

describe('an erasure that lands while a worker is planning', () => {
  it('sends no create after the tombstone, and completes without waiting for the sweep', async () => {
    const record = canaryRecord(1);
    running = await suite.start();
    const { gateway, source } = running;
    // The host's erasure request is committed while the workers read the record for their plans.
    let erasing: Promise<unknown> | undefined;
    source.get = async (id: string): Promise<MasterRecordInput | null> => {
      erasing ??= gateway.erase(id, { reason: 'erasure request' });
      await erasing;
      return record;
    };
    await gateway.changed(record.id);
    await gateway.runUntilIdle();

    for (const p of suite.partners.partners) {
      expect(suite.partners.holdings(p), p).toEqual({});
      expect(
        writes(p).filter((r) => r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH'),
        p,
      ).toEqual([]);
    }
    // No partner held anything, so the jobs that found nothing to do completed the erasure: no
    // processDueErasures() was called.
    const status = await gateway.erasureStatus(record.id);
    expect(status.complete).toBe(true);
    expect(running.erased).toEqual([record.id]);
    const log = await gateway.audit.list({ subjectId: record.id });
    expect(log.filter((r) => r.kind === 'intent').map((r) => r.operation)).toEqual([]);
  });
});
