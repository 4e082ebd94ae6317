/**
 * Issue 16.3 / 14.4: a full resync scans the source in chunks and looks for the subjects partners
 * hold that the source lost a page of held subjects at a time, never in one statement over all links.
 * Small pages here so the scan and the search cross their edges: what is counted and enqueued must be
 * exactly what one big page finds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/keys.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import { resync, type ResyncDeps } from '../../src/resync.ts';
import type { RecordSource } from '../../src/source.ts';
import { migrate } from '../../src/store/migrate.ts';
import { canaryRecords } from '../../src/testing/records.ts';
import { testSecrets } from '../../src/testing/test-gateway.ts';
import { engine, testDatabase } from '../support/database.ts';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

const PARTNERS = ['stripe', 'elogistik'] as const;

/** subj-1..subj-30: stripe holds 1..23, elogistik 10..30 (30 held subjects); the source keeps every third. */
async function setUp() {
  const db = await testDatabase();
  cleanup = async () => {
    await db.close();
    await db.drop();
  };
  await migrate(db);
  const held = (partner: string, from: number, to: number) =>
    db.query(
      `insert into links (subject_id, partner, partner_ids, digest, holds, updated_at)
       select 'subj-' || n, $1, '["id"]'::jsonb, 'old-digest', true, now() from generate_series($2::int, $3::int) n`,
      [partner, from, to],
    );
  await held('stripe', 1, 23);
  await held('elogistik', 10, 30);
  // Scanned out of key order (subj-9 after subj-30), and with two subjects no partner holds.
  const kept = canaryRecords(32).filter((_, i) => (i + 1) % 3 === 0 || i >= 30);
  kept.reverse();
  const byId = new Map(kept.map((r) => [r.id, r]));
  const source: RecordSource = {
    get: async (id) => byId.get(id) ?? null,
    async *scan() {
      yield* kept;
    },
  };
  const enqueued: { partner: string; ids: readonly string[] }[] = [];
  const deps: ResyncDeps = {
    sql: db,
    policy: loadPolicyFile(),
    keys: createKeys(testSecrets),
    // resync asks the adapters only whether they are there and what they cannot clear.
    adapters: new Map(PARTNERS.map((p) => [p, {} as never])),
    source,
    now: () => new Date(),
    enqueue: async (partner, ids) => void enqueued.push({ partner, ids }),
  };
  return { deps, enqueued };
}

const gone = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i)
    .filter((n) => n % 3 !== 0)
    .map((n) => `subj-${n}`);

describe(`resync's scan and search for lost records on ${engine}`, () => {
  it('pages of 4 held subjects and chunks of 3 find the same lost records as one page: counted, then enqueued', async () => {
    const { deps, enqueued } = await setUp();
    const small = await resync({ ...deps, pages: { chunk: 3, orphans: 4 } }, { dryRun: true }, 'c-small');
    const big = await resync(deps, { dryRun: true }, 'c-big');
    expect(enqueued).toEqual([]);
    for (const summary of [small, big]) {
      expect(summary.scanned).toBe(12);
      expect(summary.deletions).toMatchObject({ subjects: gone(1, 30).length, held: 30, refused: true });
      expect(summary.perPartner.stripe).toMatchObject({ missing: gone(1, 23).length, updates: 7 });
      expect(summary.perPartner.elogistik).toMatchObject({ missing: gone(10, 30).length, updates: 7 });
    }
    expect(small.perPartner).toEqual(big.perPartner);

    // Over the limit on purpose: the operator says go, and exactly the lost ones are enqueued.
    const real = await resync(
      { ...deps, pages: { chunk: 3, orphans: 4 } },
      { allowMassDeletion: true, operator: 'test' },
      'c-real',
    );
    expect(real.deletions).toMatchObject({ subjects: 20, held: 30, refused: false, overridden: true });
    const ids = (partner: string, n: number) =>
      enqueued
        .filter((e) => e.partner === partner)
        .flatMap((e) => e.ids)
        .filter((id) => Number(id.slice('subj-'.length)) <= n);
    // The kept ones (an update where held with another digest, a create elsewhere), then the lost ones, each once.
    const kept = Array.from({ length: 10 }, (_, i) => `subj-${3 * (i + 1)}`);
    expect(new Set(ids('stripe', 30)).size).toBe(ids('stripe', 30).length);
    expect(ids('stripe', 30).sort()).toEqual([...gone(1, 23), ...kept].sort());
    expect(ids('elogistik', 30).sort()).toEqual([...gone(10, 30), ...kept].sort());
  });
});
