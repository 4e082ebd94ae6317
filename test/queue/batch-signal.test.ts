import { describe, expect, it } from 'vitest';
import { BatchDeadline } from '../../src/schedule/batch-deadline.ts';
import { batchSignal } from '../../src/schedule/schedule.ts';

describe('a batch signal', () => {
  it('aborts when any job claim is lost, with that reason, and not before', () => {
    const jobs = [new AbortController(), new AbortController(), new AbortController()];
    const batch = batchSignal(
      jobs.map((j) => j.signal),
      3_600,
    );
    expect(batch.signal.aborted).toBe(false);
    jobs[1]!.abort(new Error('claim lost'));
    expect(batch.signal.aborted).toBe(true);
    expect((batch.signal.reason as Error).message).toBe('claim lost');
    batch.release();
  });

  it('is aborted at once when a job was already aborted', () => {
    const lost = new AbortController();
    lost.abort();
    const batch = batchSignal([new AbortController().signal, lost.signal], 3_600);
    expect(batch.signal.aborted).toBe(true);
    batch.release();
  });

  it('aborts a margin before the jobs expire (a third of the expiry, at most 30 s)', async () => {
    const batch = batchSignal([new AbortController().signal], 6);
    await new Promise((r) => setTimeout(r, 3_800));
    expect(batch.signal.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 400));
    expect(batch.signal.aborted).toBe(true);
    // The deadline's own reason: transfer lets the calls in flight finish on it (and on nothing else).
    expect(batch.signal.reason).toBeInstanceOf(BatchDeadline);
    batch.release();
  });

  it('no longer follows the jobs once released (a settled batch)', () => {
    const job = new AbortController();
    const batch = batchSignal([job.signal], 3_600);
    batch.release();
    job.abort();
    expect(batch.signal.aborted).toBe(false);
  });
});
