/**
 * Issues 10.6 and 9.11 through the real binary: erasing an id the record source does not know needs
 * confirmation (--yes), and erase, resync and dead-letters retry exit non-zero, with --json saying
 * what is left, whenever they end with an erasure incomplete, dead letters or jobs still to do.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partnerModules } from '../../adapters/index.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { openDatabase } from '../../src/store/database.ts';
import { canaryRecords } from '../../src/testing/index.ts';
import { cleanEnv, oneLineError, runCli } from './run.ts';

const TIMEOUT = 180_000;
const configModule = pathToFileURL(fileURLToPath(new URL('../../src/cli/config.ts', import.meta.url))).href;
const records = canaryRecords(3);

let dir: string;
let sandbox: Sandbox;
let config: string;

function env(dataDir: string): NodeJS.ProcessEnv {
  return cleanEnv({
    PARTNER_GATEWAY_PSEUDONYM_KEY: 'cli-safety-test-pseudonym-key-0123',
    PARTNER_GATEWAY_SANDBOX_URL: sandbox.inspectUrl,
    PARTNER_GATEWAY_DATA_DIR: join(dir, dataDir),
  });
}
const cli = (dataDir: string, args: string[]) => runCli(['--config', config, ...args], { env: env(dataDir) });

async function tombstones(dataDir: string): Promise<string[]> {
  const db = await openDatabase({ dataDir: join(dir, dataDir) });
  try {
    return (await db.query<{ subject_id: string }>(`select subject_id from tombstones`)).map((r) => r.subject_id);
  } finally {
    await db.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'partner-gateway-cli-safety-'));
  sandbox = await startSandbox({ emulators: partnerModules.map((m) => m.createEmulator()) });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await writeFile(join(dir, 'records.json'), JSON.stringify(records));
  config = join(dir, 'safety.config.ts');
  await writeFile(
    config,
    [
      `import { readFileSync } from 'node:fs';`,
      `import { defineConfig } from '${configModule}';`,
      `const records: { id: string }[] = JSON.parse(readFileSync(new URL('./records.json', import.meta.url), 'utf8'));`,
      `const byId = new Map(records.map((r) => [r.id, r]));`,
      `export default defineConfig({`,
      `  source: { get: async (id: string) => byId.get(id) ?? null, async *scan() { yield* records; } },`,
      `  partners: ['elogistik', 'stripe', 'intercom'],`,
      `  retry: { retryLimit: 0, retryDelaySeconds: 1 },`,
      `});`,
    ].join('\n'),
  );
}, TIMEOUT);

afterAll(async () => {
  await sandbox?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('erase of an id the record source does not know', { timeout: TIMEOUT }, () => {
  it('is refused without --yes (exit 5, the id named unknown, nothing tombstoned); --yes tombstones it', async () => {
    const refused = await cli('unknown', ['erase', 'subj-typo', '--reason', 'ticket 12']);
    expect(refused.code).toBe(5);
    expect(oneLineError(refused)).toMatch(/the record source does not know subject subj-typo.*--yes/);
    expect(await tombstones('unknown')).toEqual([]);

    const confirmed = await cli('unknown', [
      '--json',
      'erase',
      'subj-typo',
      '--reason',
      'ticket 12',
      '--yes',
      '--no-wait',
    ]);
    // Not waited for: the erasure is not confirmed complete yet, and the exit code says so.
    expect(confirmed.code, confirmed.stderr).toBe(3);
    expect(confirmed.json()).toMatchObject({ subjectId: 'subj-typo', tombstoned: true });
    expect(await tombstones('unknown')).toEqual(['subj-typo']);
  });

  it('a known subject needs no confirmation; the partners without an adapter here wait for an operator (exit 4)', async () => {
    expect((await cli('known', ['resync'])).code).toBe(0);
    const result = await cli('known', ['--json', 'erase', 'subj-1', '--reason', 'ticket 13']);
    const status = result.json<{ partners: { partner: string; state: string }[]; left: { operator: string[] } }>();
    expect(
      status.partners.filter((p) => ['elogistik', 'stripe', 'intercom'].includes(p.partner)).map((p) => p.state),
    ).toEqual(['confirmed', 'confirmed', 'confirmed']);
    expect(status.left.operator.sort()).toEqual([
      'auth0 (no-adapter)',
      'mailchimp (no-adapter)',
      'resin (no-adapter)',
      'twilio (no-adapter)',
    ]);
    expect(result.code, result.stderr).toBe(4);
    expect(oneLineError(result)).toMatch(/wait for an operator \(manual-erasure, resolve-erasure\)/);
  });
});

describe('exit codes say what is left', { timeout: TIMEOUT }, () => {
  it('erase --no-wait: exit 3, --json names the partners still pending', async () => {
    expect((await cli('nowait', ['resync'])).code).toBe(0);
    const result = await cli('nowait', ['--json', 'erase', 'subj-2', '--reason', 'ticket 14', '--no-wait']);
    expect(result.code).toBe(3);
    const status = result.json<{ complete: boolean; left: { pending: string[]; failed: string[] } }>();
    expect(status.complete).toBe(false);
    expect(status.left.pending.sort()).toEqual(['elogistik', 'intercom', 'stripe']);
    expect(JSON.parse(result.stderr).error.exitCode).toBe(3);
  });

  it('resync --no-wait: exit 3 when it enqueued anything, --json says how many are left', async () => {
    const result = await cli('resync-nowait', ['--json', 'resync', '--no-wait']);
    expect(result.code).toBe(3);
    expect(result.json<{ left: { queued: number } }>().left.queued).toBe(9);
  });

  it('resync and dead-letters retry: exit 4 while dead letters remain, 0 once the partner is in step', async () => {
    // A fresh partner side: the other tests' stores share the pseudonym key, and Stripe would replay their creates.
    sandbox.reset();
    sandbox.setFaults({ stripe: { errorRate: 1, retryAfterSeconds: 1 } });
    try {
      const resync = await cli('dead', ['--json', 'resync']);
      expect(resync.code).toBe(4);
      expect(resync.json<{ left: { deadLetters: number } }>().left).toEqual({ queued: 0, retrying: 0, deadLetters: 3 });

      // Retrying one of them while the partner still fails: it dies again, and the other two are left too.
      const list = await cli('dead', ['--json', 'dead-letters', 'list', '--partner', 'stripe']);
      // Every dead letter says why, in the operator's view too.
      const letters = list.json<{ id: string; error: string | null }[]>();
      expect(letters).toHaveLength(3);
      for (const letter of letters) expect(letter.error).toMatch(/503/);
      const [first] = letters;
      sandbox.setFaults({});
      const one = await cli('dead', ['--json', 'dead-letters', 'retry', '--partner', 'stripe', '--id', first!.id]);
      expect(one.code).toBe(4);
      expect(one.json<{ left: { deadLetters: number } }>().left.deadLetters).toBe(2);
      expect(oneLineError(one)).toMatch(/2 dead letter\(s\) left at stripe/);
    } finally {
      sandbox.setFaults({});
    }
    const all = await cli('dead', ['--json', 'dead-letters', 'retry', '--partner', 'stripe']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.json<{ left: unknown }>().left).toEqual({ queued: 0, retrying: 0, deadLetters: 0 });
    expect(Object.keys(sandbox.holdings('stripe'))).toHaveLength(3);
  });
});

describe('a resync over the deletion limit', { timeout: TIMEOUT }, () => {
  it('deletes nothing and exits 5 naming the limit; --allow-mass-deletion goes on; status shows the missing', async () => {
    sandbox.reset();
    expect((await cli('limit', ['resync'])).code).toBe(0);
    expect(Object.keys(sandbox.holdings('stripe'))).toHaveLength(3);
    // The host's source comes back empty (a failed export, a wrong replica).
    await writeFile(join(dir, 'records.json'), JSON.stringify([]));
    try {
      for (const args of [['resync', '--dry-run'], ['resync']]) {
        const refused = await cli('limit', args);
        expect(refused.code, args.join(' ')).toBe(5);
        expect(oneLineError(refused)).toMatch(
          /3 of 3 subject\(s\) partners hold would be deleted or noted missing, over the deletion limit \(more than 100, or more than 10% of them\).*--allow-mass-deletion/,
        );
      }
      expect(Object.keys(sandbox.holdings('stripe'))).toHaveLength(3);
      const status = await cli('limit', ['status']);
      expect(status.stdout).toMatch(/records missing from the source: 0/);

      const allowed = await cli('limit', ['--operator', 'ops-kim', 'resync', '--allow-mass-deletion']);
      expect(allowed.code, allowed.stderr).toBe(0);
      const after = await cli('limit', ['status']);
      expect(after.stdout).toMatch(/records missing from the source: 3/);
      expect(after.stdout).toMatch(/subj-1: record missing since .*, erased after .* unless it comes back/);
      // Held through the grace period.
      expect(Object.keys(sandbox.holdings('stripe'))).toHaveLength(3);
      const audit = await cli('limit', ['--json', 'audit', 'list', '--limit', '1000']);
      const events = audit.json<{ operation: string; operator: string | null }[]>();
      expect(events.filter((e) => e.operation === 'resync_mass_deletion').map((e) => e.operator)).toEqual(['ops-kim']);
    } finally {
      await writeFile(join(dir, 'records.json'), JSON.stringify(records));
    }
  });
});

describe('drift', { timeout: TIMEOUT }, () => {
  it('finds a customer deleted in Stripe by hand (exit 4), and --repair re-creates it (exit 0)', async () => {
    sandbox.reset();
    expect((await cli('drift', ['resync'])).code).toBe(0);
    const [lost] = Object.entries(sandbox.holdings('stripe')).find(([, h]) =>
      JSON.stringify(h.personal).includes(records[0]!.name!.given),
    )!;
    const deleted = await sandbox.emulators.stripe!.handle({
      method: 'DELETE',
      path: `/v1/customers/${lost}`,
      query: new URLSearchParams(),
      headers: { authorization: 'Bearer sk_test_sandbox' },
      body: Buffer.alloc(0),
    });
    expect(deleted.status).toBe(200);
    const subjects = ['--subject', 'subj-1', 'subj-2', 'subj-3'];
    const found = await cli('drift', ['--json', 'drift', ...subjects]);
    expect(found.code).toBe(4);
    expect(found.json<{ findings: unknown[] }>().findings).toEqual([
      { subjectId: 'subj-1', partner: 'stripe', believed: 'held', actual: 'nothing', repairEnqueued: false },
    ]);
    const repaired = await cli('drift', ['drift', ...subjects, '--repair']);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stdout).toMatch(/subj-1\s+stripe\s+held\s+nothing\s+reconciled again/);
    expect(Object.keys(sandbox.holdings('stripe'))).toHaveLength(3);
    expect((await cli('drift', ['drift', ...subjects])).code).toBe(0);
  });
});

describe('rotate-pseudonym-key', { timeout: TIMEOUT }, () => {
  const NEW_KEY = 'cli-safety-new-pseudonym-key-9876';
  const rotating = (extra: Record<string, string> = {}) =>
    cleanEnv({
      ...env('rotate'),
      PARTNER_GATEWAY_PSEUDONYM_KEY: NEW_KEY,
      PARTNER_GATEWAY_PREVIOUS_PSEUDONYM_KEYS: 'cli-safety-test-pseudonym-key-0123',
      ...extra,
    });
  const rotate = (args: string[]) =>
    runCli(['--config', config, '--operator', 'ops-kim', ...args], { env: rotating() });

  it('dry run (exit 0, nothing sent); a partner down: exit 3 and the old key stays; rerun: exit 0; the old key is refused after', async () => {
    sandbox.reset();
    expect((await cli('rotate', ['resync'])).code).toBe(0);
    const before = Object.keys(sandbox.holdings('elogistik')).sort();

    const dry = await rotate(['--json', 'rotate-pseudonym-key', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    const planned = dry.json<{ state: string; partners: { partner: string; change: string; held: number }[] }>();
    expect(planned.state).toBe('dry-run');
    expect(planned.partners.map((p) => [p.partner, p.change, p.held])).toEqual([
      ['elogistik', 'moved', 3],
      ['stripe', 'rewritten', 3],
      ['intercom', 'rewritten', 3],
    ]);
    expect(Object.keys(sandbox.holdings('elogistik')).sort()).toEqual(before);
    // A dry run changes nothing: the old key still opens the store.
    expect((await cli('rotate', ['status'])).code).toBe(0);

    sandbox.setFaults({ intercom: { errorRate: 1 } });
    try {
      const failing = await rotate(['rotate-pseudonym-key']);
      expect(failing.code, failing.stderr).toBe(3);
      expect(oneLineError(failing)).toMatch(/3 pair\(s\) left to retry; the store stays on the old key: rerun/);
      // While it is in progress, no gateway starts, with either key.
      expect(oneLineError(await cli('rotate', ['status']))).toMatch(/rotation .* is in progress/);
    } finally {
      sandbox.setFaults({});
    }
    const done = await rotate(['rotate-pseudonym-key']);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr + done.stdout).toMatch(/rotation complete/);
    const after = Object.keys(sandbox.holdings('elogistik'));
    expect(after).toHaveLength(3);
    for (const ref of after) expect(before).not.toContain(ref);
    expect((await rotate(['--json', 'rotate-pseudonym-key'])).json<{ state: string }>().state).toBe('already-current');

    expect(oneLineError(await cli('rotate', ['status']))).toMatch(/is not the key this store was made with/);
    const audit = await runCli(['--config', config, '--json', 'audit', 'list', '--limit', '10000'], {
      env: rotating(),
    });
    const events = audit.json<{ operation: string; operator: string | null }[]>();
    expect(
      events.filter((e) => e.operation.startsWith('pseudonym_rotation')).map((e) => [e.operation, e.operator]),
    ).toEqual([
      ['pseudonym_rotation_started', 'ops-kim'],
      ['pseudonym_rotation_resumed', 'ops-kim'],
      ['pseudonym_rotation_completed', 'ops-kim'],
    ]);
    const verify = await runCli(['--config', config, 'audit', 'verify'], { env: rotating() });
    expect(verify.code, verify.stderr).toBe(0);
    expect(
      oneLineError(
        await runCli(['--config', config, 'rotate-pseudonym-key'], {
          env: rotating({ PARTNER_GATEWAY_SERVER_URL: 'http://127.0.0.1:1' }),
        }),
      ),
    ).toMatch(/leave --server out/);
  });
});
