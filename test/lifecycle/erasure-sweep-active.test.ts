/**
 * The sweep in processDueErasures() re-enqueues a partner only when its job is lost (no job waiting,
 * none being worked on, no dead letter). A job in flight is not lost: queuing a second one beside it
 * would erase again after the first failed for good, hiding the dead letter an operator must see.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { permanent } from '../support/memory-adapter.ts';
import { canaryRecord } from '../support/records.ts';
import { startHarness, type Harness } from '../support/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('the erasure sweep while a partner erase is in flight', () => {
  it('does not queue a second erase beside the one in flight: a permanent failure stays failed', async () => {
    h = await startHarness({ records: [canaryRecord(1)] });
    await h.gateway.changed('subj-1');
    await h.gateway.runUntilIdle();
    const elogistik = h.adapters.get('elogistik')!;
    expect(elogistik.held.size).toBe(1);

    // E-logistik's erase waits until the sweep has run, then fails for good.
    let inFlight!: () => void;
    const started = new Promise<void>((resolve) => (inFlight = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const erase = elogistik.erase.bind(elogistik);
    elogistik.erase = async (...args) => {
      inFlight();
      await released;
      return erase(...args);
    };
    elogistik.failNext(permanent('elogistik'));

    await h.gateway.erase('subj-1', { reason: 'data subject request' });
    await h.gateway.work({ pollingIntervalSeconds: 0.5 });
    await started;
    await h.gateway.processDueErasures();
    release();
    await h.gateway.runUntilIdle();
    await h.gateway.processDueErasures();
    await h.gateway.runUntilIdle();

    expect(elogistik.calls.filter((c) => c.operation === 'erase')).toHaveLength(1);
    expect(elogistik.held.size).toBe(1);
    const status = await h.gateway.erasureStatus('subj-1');
    expect(status.partners.find((p) => p.partner === 'elogistik')?.state).toBe('failed');
    expect(status.complete).toBe(false);
  });
});
