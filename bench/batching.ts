/**
 * Part 3, batching: partner calls for a Mailchimp resync of N consented members. A gateway with only
 * the Mailchimp adapter and default options (BENCH_BATCH_SIZE sets batchSize): consent granted to
 * each member through gateway.consent.grant (8 at a time; timed on its own), then a resync of
 * Mailchimp and work until idle; the calls are the Mailchimp requests the sandbox received from the
 * resync on. Then a forced resync of the same members, timed on its own (every link updated).
 */
import { createGateway } from '../src/gateway.ts';
import {
  SECRETS,
  benchSandbox,
  benchSource,
  count,
  freshEngine,
  limitsOff,
  pool,
  quietLogger,
  round,
  sandboxAdapters,
  setting,
  subjectId,
  type Engine,
} from './common.ts';

export const BATCH_MEMBERS = count('BENCH_BATCH_MEMBERS', 10_000);

export interface BatchRun {
  /** undefined: the gateway's default. */
  readonly batchSize: number | undefined;
  readonly members: number;
  readonly consentSeconds: number;
  readonly enqueued: number;
  readonly calls: number;
  readonly subscribed: number;
  readonly seconds: number;
  /** A forced resync of the same members afterwards: every link they have is updated. */
  readonly forced: { readonly calls: number; readonly seconds: number; readonly updated: number };
}

export async function batching(engine: Engine): Promise<BatchRun> {
  const n = BATCH_MEMBERS;
  const batchSize = setting('BENCH_BATCH_SIZE', 0) || undefined;
  const sandbox = await benchSandbox(false);
  const store = freshEngine(engine);
  try {
    const gateway = await createGateway({
      database: store.database,
      adapters: sandboxAdapters(sandbox, ['mailchimp']),
      source: benchSource(1, n),
      secrets: SECRETS,
      limits: limitsOff(['mailchimp']),
      logger: quietLogger(),
      ...(batchSize !== undefined ? { batchSize } : {}),
    });
    try {
      const ids = Array.from({ length: n }, (_, i) => subjectId(1 + i));
      const consentStarted = performance.now();
      await pool(
        ids,
        8,
        async (id) =>
          void (await gateway.consent.grant(id, 'marketing', { source: 'bench-signup', evidence: `bench-form-${id}` })),
      );
      const consentSeconds = (performance.now() - consentStarted) / 1000;

      const before = (await sandbox.stats()).mailchimp!.requests;
      const started = performance.now();
      const summary = await gateway.resync({ partner: 'mailchimp', operator: 'bench' });
      await gateway.runUntilIdle({ timeoutMs: 300_000 });
      const seconds = (performance.now() - started) / 1000;
      const calls = (await sandbox.stats()).mailchimp!.requests - before;
      const [{ subscribed } = { subscribed: 0 }] = await gateway.database.query<{ subscribed: number }>(
        `select count(*)::int as subscribed from links where partner = 'mailchimp' and holds and consent_entry_applied is not null`,
      );
      // Forced: every member is sent again, so each batch's outcome updates links that exist (the
      // upsert's conflict path, which the first resync, making new links, never takes).
      const forcedBefore = (await sandbox.stats()).mailchimp!.requests;
      const [{ since } = { since: new Date() }] = await gateway.database.query<{ since: Date }>(
        `select clock_timestamp() as since`,
      );
      const forcedStarted = performance.now();
      await gateway.resync({ partner: 'mailchimp', force: true, operator: 'bench' });
      await gateway.runUntilIdle({ timeoutMs: 300_000 });
      const forcedSeconds = (performance.now() - forcedStarted) / 1000;
      const forcedCalls = (await sandbox.stats()).mailchimp!.requests - forcedBefore;
      const [{ updated } = { updated: 0 }] = await gateway.database.query<{ updated: number }>(
        `select count(*)::int as updated from links where partner = 'mailchimp' and holds and last_sent_at > $1`,
        [since],
      );
      return {
        batchSize,
        members: n,
        consentSeconds: round(consentSeconds, 1),
        enqueued: summary.enqueued,
        calls,
        subscribed,
        seconds: round(seconds, 2),
        forced: { calls: forcedCalls, seconds: round(forcedSeconds, 2), updated },
      };
    } finally {
      await gateway.stop();
    }
  } finally {
    await store.cleanup();
    await sandbox.close();
  }
}
