/**
 * Issue 10.5, the colliding case: a forced dead letter re-driven while its subject already has a
 * job waiting (the stately queue takes one waiting job per subject). pg-boss would fail the dead
 * letter in place: it vanishes from the list and the force with it. The waiting job takes it over.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { defaultRetryPolicy } from '../../src/schedule/boss.ts';
import type { JobResult } from '../../src/schedule/job.ts';
import { createSchedule, type Schedule, type WorkItem } from '../../src/schedule/schedule.ts';
import { testDatabase } from '../support/database.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('redrive into a queue that already has a job waiting for the subject', () => {
  it("the waiting job carries the dead letter's force, and the dead letter is settled, not lost", async () => {
    const db = await testDatabase();
    cleanups.push(async () => {
      await db.close();
      await db.drop();
    });
    const schedule: Schedule = await createSchedule({
      db,
      partners: ['stripe'],
      retry: { ...defaultRetryPolicy, retryLimit: 0 },
      logger: pino({ level: 'silent' }),
    });
    cleanups.push(() => schedule.stop());

    const ran: WorkItem['data'][] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await schedule.work(
      async (_partner, items): Promise<JobResult[]> => {
        const out: JobResult[] = [];
        for (const item of items) {
          ran.push(item.data);
          if (item.data.trigger === 'resync' && ran.length === 1) out.push({ status: 'deadletter', error: 'HTTP 503' });
          else {
            if (item.data.correlationId === 'hold') await held;
            out.push({ status: 'completed', action: 'upsert' });
          }
        }
        return out;
      },
      { batchSize: () => 1, concurrency: () => 2, pollingIntervalSeconds: 0.5 },
    );
    const job = (trigger: 'resync' | 'change', correlationId: string, force?: boolean) => ({
      subjectId: 'subj-1',
      trigger,
      correlationId,
      ...(force ? { force } : {}),
    });
    await schedule.enqueue('stripe', [job('resync', 'forced', true)]);
    await until(async () => (await schedule.deadLetters('stripe')).length === 1);

    // One job for the subject runs (held), the next one waits behind it.
    await schedule.enqueue('stripe', [job('change', 'hold')]);
    await until(async () => ran.length === 2);
    await schedule.enqueue('stripe', [job('change', 'waiting')]);

    expect(await schedule.redrive('stripe')).toBe(1);
    release();
    await until(async () => (await schedule.pending(true)).total === 0);
    expect(await schedule.deadLetters('stripe')).toEqual([]);
    // Every later run of the subject's job carries the force the dead letter had.
    const after = ran.slice(2);
    expect(after.length).toBeGreaterThan(0);
    expect(after.some((d) => d.force === true)).toBe(true);
  });
});
