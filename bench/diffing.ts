/**
 * Part 4, diffing: a resync of N unchanged subjects must make no partner call, quickly and in
 * bounded memory. Syncing N subjects for real would not fit the time budget, so the first few
 * (DIFF_REAL) go through the real pipeline and the rest are seeded into `links` with exactly the
 * digests the gateway stores (createKeys + minimise/describePayload with the same pseudonymKey); the
 * seeding is checked against the rows the real pipeline wrote for the first ones.
 */
import { createGateway } from '../src/gateway.ts';
import { createKeys } from '../src/keys.ts';
import { describePayload, minimise } from '../src/minimise.ts';
import { loadPolicyFile } from '../src/policy/index.ts';
import { parseMasterRecord } from '../src/record.ts';
import {
  type MemoryBreakdown,
  type RssSampler,
  SECRETS,
  SYNC_PARTNERS,
  benchRecord,
  benchSandbox,
  benchSource,
  count,
  engineAt,
  freshEngine,
  limitsOff,
  mb,
  memoryBreakdown,
  pgliteOf,
  quietLogger,
  round,
  sandboxAdapters,
  subjectId,
  totalRequests,
  type Engine,
} from './common.ts';

/**
 * Subjects in the diffing part: BENCH_DIFF_SUBJECTS_POSTGRES or BENCH_DIFF_SUBJECTS_PGLITE for one
 * engine, else BENCH_DIFF_SUBJECTS, else 100,000 (1,000,000, the scale, takes minutes to seed).
 */
export function diffSubjects(engine: Engine): number {
  const own = `BENCH_DIFF_SUBJECTS_${engine.toUpperCase()}`;
  return process.env[own] ? count(own, 100_000) : count('BENCH_DIFF_SUBJECTS', 100_000);
}
const DIFF_REAL_WANTED = count('BENCH_DIFF_REAL', 200);
const SEED_CHUNK = 5_000;

export interface DiffSeed {
  readonly location: string;
  readonly subjects: number;
  readonly syncedForReal: number;
  readonly seeded: number;
  readonly seedSeconds: number;
  readonly seedVerified: number;
}

export interface DiffingResult extends DiffSeed {
  readonly partnerCalls: number;
  readonly enqueued: number;
  readonly unchanged: number;
  readonly seconds: number;
  readonly resyncSeconds: number;
  /** RSS with the gateway open and idle, just before the resync. */
  readonly rssBeforeMb: number;
  readonly peakRssMb: number;
  /** The largest JS heap in use during the resync (uncollected garbage included). */
  readonly peakHeapMb: number;
  /** What held the RSS at its peak. */
  readonly atPeak: MemoryBreakdown;
  /** After the resync and a full GC: what stays (so heap at the peak minus this heap was garbage). */
  readonly afterGc: MemoryBreakdown;
}

/**
 * Brings N subjects into step: the first DIFF_REAL through the real pipeline, the rest seeded. Leaves
 * the store in place (its location is returned) for diffingMeasure(), run in a fresh process so the
 * seeding's memory is not counted against the resync.
 */
export async function diffingSeed(engine: Engine): Promise<DiffSeed> {
  const n = diffSubjects(engine);
  const DIFF_REAL = Math.min(n, DIFF_REAL_WANTED);
  const policy = loadPolicyFile();
  const keys = createKeys(SECRETS);
  const sandbox = await benchSandbox(false);
  const store = freshEngine(engine);
  try {
    const gateway = await createGateway({
      policy,
      database: store.database,
      adapters: sandboxAdapters(sandbox),
      source: benchSource(1, n),
      secrets: SECRETS,
      limits: limitsOff(),
      logger: quietLogger(),
    });
    try {
      // 1. The first DIFF_REAL subjects through the real pipeline.
      const real = Array.from({ length: DIFF_REAL }, (_, i) => subjectId(i + 1));
      await gateway.resync({ subjects: real, operator: 'bench' });
      // Retries included: on a loaded machine a sandbox call may time out, and its retry is part of the sync.
      await gateway.runUntilIdle({ timeoutMs: 120_000, waitForRetries: true });

      // What the gateway would store for subject k at a partner that holds it.
      const expected = (k: number, partner: string) => {
        const payload = minimise(parseMasterRecord(benchRecord(k)), partner, policy);
        return { digest: keys.payloadDigest(payload), fields: describePayload(payload, policy).fields };
      };
      const realRows = await gateway.database.query<{
        subject_id: string;
        partner: string;
        digest: string;
        last_fields: string[] | string;
        policy_digest: string | null;
      }>(
        `select subject_id, partner, digest, last_fields, policy_digest from links where holds order by subject_id, partner`,
      );
      const holders = [...new Set(realRows.map((r) => r.partner))].sort();
      if (holders.join(',') !== [...SYNC_PARTNERS].sort().join(','))
        throw new Error(
          `diffing: the real sync left links at ${holders.join(', ')}, expected ${SYNC_PARTNERS.join(', ')}`,
        );
      let verified = 0;
      for (const row of realRows) {
        const k = Number(row.subject_id.slice('bench-'.length));
        const want = expected(k, row.partner);
        const fields =
          typeof row.last_fields === 'string' ? row.last_fields.replace(/[{}]/g, '').split(',') : row.last_fields;
        if (
          row.digest !== want.digest ||
          fields.join(',') !== want.fields.join(',') ||
          row.policy_digest !== policy.digest
        ) {
          throw new Error(
            `diffing: seeding would differ from the real pipeline for ${row.subject_id} at ${row.partner}`,
          );
        }
        verified++;
      }
      if (verified !== DIFF_REAL * SYNC_PARTNERS.length)
        throw new Error(`diffing: expected ${DIFF_REAL * SYNC_PARTNERS.length} real links, found ${verified}`);

      // 2. Seed the rest with the same digests, field lists and policy digest (a resync notes a link in
      // step under the policy it was checked with: a store the gateway synced already says so), partner
      // ids shaped like the real ones.
      const seedStarted = performance.now();
      let seeded = 0;
      let inserting: Promise<unknown> = Promise.resolve();
      for (let from = DIFF_REAL + 1; from <= n; from += SEED_CHUNK) {
        const to = Math.min(n, from + SEED_CHUNK - 1);
        const cols = {
          subject: [] as string[],
          partner: [] as string[],
          ids: [] as string[],
          digest: [] as string[],
          fields: [] as string[],
        };
        for (let k = from; k <= to; k++) {
          for (const partner of SYNC_PARTNERS) {
            const want = expected(k, partner);
            cols.subject.push(subjectId(k));
            cols.partner.push(partner);
            cols.ids.push(JSON.stringify([seedPartnerId(partner, k)]));
            cols.digest.push(want.digest);
            cols.fields.push(want.fields.join(','));
          }
        }
        // The database inserts one chunk while the next is computed here (the two use different cores).
        await inserting;
        inserting = gateway.database.query(
          `insert into links (subject_id, partner, partner_ids, digest, holds, suppressed, last_sent_at, last_fields, updated_at, policy_digest)
           select u.s, u.p, u.i::jsonb, u.d, true, false, clock_timestamp(), string_to_array(u.f, ','), clock_timestamp(), $6
           from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) as u(s, p, i, d, f)`,
          [cols.subject, cols.partner, cols.ids, cols.digest, cols.fields, policy.digest],
        );
        seeded += to - from + 1;
      }
      await inserting;
      await gateway.database.query(`analyze links`);
      return {
        location: store.location,
        subjects: n,
        syncedForReal: DIFF_REAL,
        seeded,
        seedSeconds: round((performance.now() - seedStarted) / 1000, 1),
        seedVerified: verified,
      };
    } finally {
      await gateway.stop();
    }
  } catch (error) {
    await store.cleanup();
    throw error;
  } finally {
    await sandbox.close();
  }
}

/** The measurement: resync(dryRun: false) of the unchanged state, then work until idle. Drops the store. */
export async function diffingMeasure(engine: Engine, seed: DiffSeed, sampler: RssSampler): Promise<DiffingResult> {
  const sandbox = await benchSandbox(false);
  const store = engineAt(engine, seed.location);
  try {
    const gateway = await createGateway({
      database: store.database,
      adapters: sandboxAdapters(sandbox),
      source: benchSource(1, seed.subjects),
      secrets: SECRETS,
      limits: limitsOff(),
      logger: quietLogger(),
    });
    try {
      (globalThis as { gc?: () => void }).gc?.();
      const before = totalRequests(await sandbox.stats());
      const rssBefore = sampler.sample();
      sampler.restart();
      const started = performance.now();
      const summary = await gateway.resync({ dryRun: false, operator: 'bench' });
      const resyncSeconds = (performance.now() - started) / 1000;
      await gateway.runUntilIdle({ timeoutMs: 300_000 });
      const seconds = (performance.now() - started) / 1000;
      const peak = sampler.peak();
      // WASM memory only grows, so its figure now is its figure at the peak.
      const atPeak = memoryBreakdown(pgliteOf(gateway.database), sampler.atPeak());
      (globalThis as { gc?: () => void }).gc?.();
      const afterGc = memoryBreakdown(pgliteOf(gateway.database));
      return {
        ...seed,
        partnerCalls: totalRequests(await sandbox.stats()) - before,
        enqueued: summary.enqueued,
        unchanged: Object.values(summary.perPartner).reduce((sum, c) => sum + c.unchanged, 0),
        seconds: round(seconds, 2),
        resyncSeconds: round(resyncSeconds, 2),
        rssBeforeMb: mb(rssBefore),
        peakRssMb: mb(peak),
        peakHeapMb: mb(sampler.peakHeap()),
        atPeak,
        afterGc,
      };
    } finally {
      await gateway.stop();
    }
  } finally {
    await store.cleanup();
    await sandbox.close();
  }
}

/** Partner ids in each partner's own shape (never called in this part: the state is unchanged). */
function seedPartnerId(partner: string, k: number): string {
  const hex = k.toString(16).padStart(24, '0');
  switch (partner) {
    case 'stripe':
      return `cus_bench${hex}`;
    case 'auth0':
      return `auth0|${hex}`;
    case 'intercom':
      return hex;
    default:
      return `bench-${partner}-${k}`;
  }
}
