/**
 * End to end through the real binary: a sandbox of every partner's emulator in this process, an
 * embedded store in a temporary directory, and a config whose source holds a few canary records.
 * The tests run in order and share the store: resync, consent, withdrawal, erasure, then the log.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partnerModules } from '../../adapters/index.ts';
import type { Holding } from '../../src/emulator.ts';
import type { TransferRow } from '../../src/log/query.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { openDatabase } from '../../src/store/database.ts';
import type { MasterRecordInput } from '../../src/record.ts';
import { canariesOf, canaryRecord } from '../support/records.ts';
import { cleanEnv, oneLineError, runCli, startCli, type CliResult } from './run.ts';

const TEST_TIMEOUT = 180_000;
const pseudonymKey = 'cli-test-pseudonym-key-0123456789';
const configModule = pathToFileURL(fileURLToPath(new URL('../../src/cli/config.ts', import.meta.url))).href;

let dir: string;
let sandbox: Sandbox;
let records: MasterRecordInput[];
let env: NodeJS.ProcessEnv;
let configPath: string;
let resinDeviceId: string;

function cli(args: readonly string[], options: { config?: string | null } = {}): Promise<CliResult> {
  const config =
    options.config === undefined
      ? ['--config', configPath]
      : options.config === null
        ? []
        : ['--config', options.config];
  return runCli([...config, ...args], { env });
}

function expectOk(result: CliResult): void {
  if (result.code !== 0)
    throw new Error(`exit ${result.code}; stderr: ${result.stderr}; stdout: ${result.stdout.slice(0, 1000)}`);
}

const holdingsOf = (partner: string): Record<string, Holding> => sandbox.holdings(partner);

/** Partner ids of the holdings that carry any of the subject's canary values. */
function heldFor(partner: string, record: MasterRecordInput): string[] {
  const canaries = canariesOf(record);
  return Object.entries(holdingsOf(partner))
    .filter(([, holding]) => canaries.some((c) => JSON.stringify(holding.personal).includes(c)))
    .map(([id]) => id);
}

function mailchimpStatus(record: MasterRecordInput): unknown {
  const holding = Object.values(holdingsOf('mailchimp')).find((h) => h.personal.email === record.email);
  return holding?.meta.status;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'partner-gateway-cli-'));
  sandbox = await startSandbox({ emulators: partnerModules.map((m) => m.createEmulator()) });
  // A camera registered with balena on its own; the host's record knows its device id.
  const resin = sandbox.emulators.resin as unknown as { seedDevice(seed?: Record<string, unknown>): { id: number } };
  resinDeviceId = String(resin.seedDevice({ ip_address: '10.20.30.41', device_name: 'cam-subj-1' }).id);
  records = [
    canaryRecord(1, { devices: [{ id: 'cam-1' }], partnerIds: { resin: [resinDeviceId] } }),
    canaryRecord(2),
    canaryRecord(3),
  ];
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await writeFile(join(dir, 'records.json'), JSON.stringify(records));
  configPath = join(dir, 'partner-gateway.config.ts');
  await writeFile(
    configPath,
    [
      `import { readFileSync } from 'node:fs';`,
      `import { defineConfig } from '${configModule}';`,
      `const records: { id: string }[] = JSON.parse(readFileSync(new URL('./records.json', import.meta.url), 'utf8'));`,
      `const byId = new Map(records.map((r) => [r.id, r]));`,
      `export default defineConfig({`,
      `  source: { get: async (id: string) => byId.get(id) ?? null, async *scan() { yield* records; } },`,
      `});`,
    ].join('\n'),
  );
  env = cleanEnv({
    PARTNER_GATEWAY_PSEUDONYM_KEY: pseudonymKey,
    PARTNER_GATEWAY_SANDBOX_URL: sandbox.inspectUrl,
    PARTNER_GATEWAY_DATA_DIR: join(dir, 'data'),
  });
}, TEST_TIMEOUT);

afterAll(async () => {
  await sandbox?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('partner-gateway CLI', { timeout: TEST_TIMEOUT }, () => {
  it('prints help for the program and for every command group', async () => {
    const top = await cli(['--help'], { config: null });
    expectOk(top);
    for (const command of [
      'resync',
      'worker',
      'status',
      'dead-letters',
      'erase',
      'consent',
      'restrict',
      'unrestrict',
      'access',
      'audit',
      'policy',
      'notice',
      'sandbox',
    ]) {
      expect(top.stdout).toContain(command);
    }
    expect(top.stdout).toContain('--operator');
    const exportHelp = await cli(['audit', 'export', '--help'], { config: null });
    expectOk(exportHelp);
    expect(exportHelp.stdout).toMatch(/--format/);
    const consentHelp = await cli(['consent', 'withdraw', '--help'], { config: null });
    expectOk(consentHelp);
    expect(consentHelp.stdout).toMatch(/--evidence/);
  });

  it('policy check validates and summarises the policy', async () => {
    const text = await cli(['policy', 'check']);
    expectOk(text);
    expect(text.stdout).toContain('mailchimp');
    expect(text.stdout).toMatch(/policy OK/);
    const json = await cli(['--json', 'policy', 'check']);
    expectOk(json);
    const summary = json.json<{ ok: boolean; digest: string; partners: { partner: string; fields: string[] }[] }>();
    expect(summary.ok).toBe(true);
    expect(summary.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(summary.partners.find((p) => p.partner === 'mailchimp')?.fields).toEqual(expect.arrayContaining(['email']));
  });

  it('notice renders the public notice from the policy', async () => {
    const md = await cli(['notice', '--lang', 'en', '--format', 'md']);
    expectOk(md);
    expect(md.stdout).toMatch(/^#/m);
    expect(md.stdout).toContain('Mailchimp');
    const html = await cli(['notice', '--lang', 'sv', '--format', 'html']);
    expectOk(html);
    expect(html.stdout).toMatch(/<h[12]/);
  });

  it('a missing config is one clear line on stderr', async () => {
    const result = await cli(['status'], { config: join(dir, 'nope.config.ts') });
    expect(oneLineError(result)).toMatch(/config file not found: .*nope\.config\.ts/);
  });

  it('a broken policy is one clear line naming the problem, for policy check and every other command', async () => {
    await writeFile(join(dir, 'broken-policy.yaml'), 'version: 1\ncontroller: { name: X }\ncategories: {}\n');
    const brokenConfig = join(dir, 'broken.config.ts');
    await writeFile(
      brokenConfig,
      `import { defineConfig } from '${configModule}';\nexport default defineConfig({ policy: './broken-policy.yaml', source: { get: async () => null, async *scan() {} } });\n`,
    );
    const check = await cli(['policy', 'check'], { config: brokenConfig });
    const line = oneLineError(check);
    expect(line).toMatch(/invalid policy .*broken-policy\.yaml/);
    expect(line).toMatch(/controller\.contact/);
    const status = await cli(['status'], { config: brokenConfig });
    expect(oneLineError(status)).toMatch(/invalid policy .*broken-policy\.yaml/);
  });

  it('a config of the wrong shape is one line naming what is wrong', async () => {
    const badConfig = join(dir, 'bad-shape.config.ts');
    await writeFile(badConfig, `export default { source: { get: 1 }, partner: ['mailchimp'] };\n`);
    const result = await cli(['status'], { config: badConfig });
    const line = oneLineError(result);
    expect(line).toMatch(/invalid config/);
    expect(line).toMatch(/source\.get: must be a function/);
    expect(line).toMatch(/partner/);
  });

  it('a missing pseudonym key and a malformed subject id are clear errors that echo no personal value', async () => {
    const envWithoutKey = { ...env };
    delete envWithoutKey.PARTNER_GATEWAY_PSEUDONYM_KEY;
    // status, dead-letters list and audit run without it (test/cli/read-only.test.ts); resync needs it.
    const missing = await runCli(['--config', configPath, 'resync', '--dry-run'], { env: envWithoutKey });
    expect(oneLineError(missing)).toMatch(/PARTNER_GATEWAY_PSEUDONYM_KEY/);
    const email = records[1]!.email!;
    const bad = await cli(['erase', email, '--reason', 'request']);
    const line = oneLineError(bad);
    expect(line).toMatch(/subject id/);
    expect(bad.stderr).not.toContain(email);
  });

  it('without a sandbox, missing partner credentials are named, for the enabled partners only', async () => {
    const subsetConfig = join(dir, 'subset.config.ts');
    await writeFile(
      subsetConfig,
      `import { defineConfig } from '${configModule}';\nexport default defineConfig({ partners: ['elogistik', 'stripe'], source: { get: async () => null, async *scan() {} } });\n`,
    );
    const envWithoutSandbox = { ...env };
    delete envWithoutSandbox.PARTNER_GATEWAY_SANDBOX_URL;
    const result = await runCli(['--config', subsetConfig, 'resync', '--dry-run'], { env: envWithoutSandbox });
    const line = oneLineError(result);
    expect(line).toMatch(/ELOGISTIK_TOKEN/);
    expect(line).toMatch(/STRIPE_API_KEY/);
    expect(line).not.toMatch(/MAILCHIMP|AUTH0/);
    // Read-only commands name the partners without reading their credentials.
    const status = await runCli(['--config', subsetConfig, '--json', 'status'], { env: envWithoutSandbox });
    expectOk(status);
    expect(status.json<{ partners: { partner: string }[] }>().partners.map((p) => p.partner)).toEqual([
      'elogistik',
      'stripe',
    ]);
    expectOk(await runCli(['--config', subsetConfig, 'dead-letters', 'list'], { env: envWithoutSandbox }));
    const unknown = join(dir, 'unknown-partner.config.ts');
    await writeFile(
      unknown,
      `export default { partners: ['mailchimpp'], source: { get: async () => null, async *scan() {} } };\n`,
    );
    expect(oneLineError(await cli(['status'], { config: unknown }))).toMatch(/unknown partner 'mailchimpp'/);
  });

  it('resync --dry-run counts per partner and calls nobody', async () => {
    const result = await cli(['--json', 'resync', '--dry-run']);
    expectOk(result);
    const summary = result.json<{
      dryRun: boolean;
      scanned: number;
      enqueued: number;
      perPartner: Record<string, { creates: number; suppressions: number; unchanged: number }>;
    }>();
    expect(summary.dryRun).toBe(true);
    expect(summary.scanned).toBe(3);
    expect(summary.enqueued).toBe(0);
    expect(summary.perPartner.elogistik?.creates).toBe(3);
    expect(summary.perPartner.stripe?.creates).toBe(3);
    expect(summary.perPartner.mailchimp?.creates).toBe(0); // no consent yet
    const text = await cli(['resync', '--dry-run']);
    expectOk(text);
    expect(text.stdout).toMatch(/creates\s+updates\s+erasures\s+suppressions\s+unchanged/);
    for (const [partner, stats] of Object.entries(sandbox.stats()))
      expect({ partner, requests: stats.requests }).toEqual({ partner, requests: 0 });
  });

  it('resync sends every partner its records and exits 0', async () => {
    const result = await cli(['--operator', 'ops-alice', 'resync']);
    expectOk(result);
    expect(result.stdout).toMatch(/resync done/);
    for (const partner of ['elogistik', 'stripe', 'intercom', 'auth0']) {
      for (const record of records)
        expect({ partner, subject: record.id, held: heldFor(partner, record).length }).toEqual({
          partner,
          subject: record.id,
          held: 1,
        });
    }
    expect(Object.keys(holdingsOf('mailchimp'))).toHaveLength(0);
    // A second resync finds everyone in step: nothing to send.
    const again = await cli(['--json', 'resync', '--dry-run']);
    expectOk(again);
    const summary = again.json<{
      perPartner: Record<string, { creates: number; updates: number; unchanged: number }>;
    }>();
    expect(summary.perPartner.elogistik).toMatchObject({ creates: 0, updates: 0, unchanged: 3 });
  });

  it('consent grant then resync: mailchimp holds the subject, subscribed', async () => {
    const grant = await cli([
      '--operator',
      'ops-alice',
      'consent',
      'grant',
      'subj-1',
      '--purpose',
      'marketing',
      '--source',
      'web-form',
      '--evidence',
      'form-4711',
    ]);
    expectOk(grant);
    const resync = await cli(['--operator', 'ops-alice', 'resync']);
    expectOk(resync);
    expect(mailchimpStatus(records[0]!)).toBe('subscribed');
    expect(mailchimpStatus(records[1]!)).toBeUndefined();
  });

  it('consent withdraw (a written notice): mailchimp has the subject unsubscribed', async () => {
    const withdraw = await cli([
      '--operator',
      'ops-alice',
      'consent',
      'withdraw',
      'subj-1',
      '--purpose',
      'marketing',
      '--source',
      'written-notice',
      '--evidence',
      'letter-2026-03',
    ]);
    expectOk(withdraw);
    expect(mailchimpStatus(records[0]!)).toBe('unsubscribed');
    // A resync never re-subscribes anyone.
    expectOk(await cli(['resync']));
    expect(mailchimpStatus(records[0]!)).toBe('unsubscribed');
  });

  it('erase removes the subject from every sandbox partner', async () => {
    const result = await cli([
      '--json',
      '--operator',
      'ops-alice',
      'erase',
      'subj-1',
      '--reason',
      'erasure request, ticket 88',
    ]);
    expectOk(result);
    const status = result.json<{ subjectId: string; tombstoned: boolean }>();
    expect(status.subjectId).toBe('subj-1');
    for (const partner of Object.keys(sandbox.urls))
      expect({ partner, held: heldFor(partner, records[0]!) }).toEqual({ partner, held: [] });
    expect(holdingsOf('resin')[resinDeviceId]).toBeUndefined();
    // The others stay.
    expect(heldFor('elogistik', records[1]!)).toHaveLength(1);
    // And a resync does not bring the erased subject back.
    expectOk(await cli(['resync']));
    for (const partner of Object.keys(sandbox.urls))
      expect({ partner, held: heldFor(partner, records[0]!) }).toEqual({ partner, held: [] });
  });

  it('audit verify exits 0 on an intact log', async () => {
    const result = await cli(['audit', 'verify']);
    expectOk(result);
    expect(result.stdout).toMatch(/verified/);
    const json = await cli(['--json', 'audit', 'verify']);
    expectOk(json);
    expect(json.json<{ ok: boolean; rowsChecked: number }>()).toMatchObject({ ok: true });
  });

  it('audit export streams every row as JSON lines (and CSV) without a personal value', async () => {
    const result = await cli(['audit', 'export', '--format', 'jsonl']);
    expectOk(result);
    const rows = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as TransferRow);
    expect(rows.length).toBeGreaterThan(10);
    expect(new Set(rows.map((r) => r.seq)).size).toBe(rows.length);
    expect(
      rows.some((r) => r.kind === 'intent' && r.partner === 'elogistik' && r.fields.includes('address.street')),
    ).toBe(true);
    for (const canary of records.flatMap(canariesOf)) expect(result.stdout).not.toContain(canary);
    const csv = await cli(['audit', 'export', '--format', 'csv']);
    expectOk(csv);
    expect(csv.stdout.split('\n')[0]).toMatch(/^seq,at,kind,/);
    expect(csv.stdout.trim().split('\n')).toHaveLength(rows.length + 1);
    for (const canary of records.flatMap(canariesOf)) expect(csv.stdout).not.toContain(canary);
  });

  it('the operator appears in the audit rows of the actions taken', async () => {
    const result = await cli(['--json', 'audit', 'list', '--subject', 'subj-1', '--limit', '1000']);
    expectOk(result);
    const rows = result.json<TransferRow[]>();
    const byAlice = rows.filter((r) => r.operator === 'ops-alice');
    expect(byAlice.some((r) => r.trigger === 'consent')).toBe(true);
    expect(byAlice.some((r) => r.trigger === 'erasure')).toBe(true);
    expect(byAlice.some((r) => r.trigger === 'resync')).toBe(true);
  });

  it('worker works until SIGTERM, then drains and exits 0', async () => {
    const worker = startCli(['--config', configPath, 'worker', '--poll', '1'], { env, ready: /worker started/ });
    await worker.ready;
    worker.child.kill('SIGTERM');
    const result = await worker.exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/worker stopped/);
    expect(result.stderr).toBe('');
    // Not a terminal: one JSON object per line, as a log collector reads them.
    const lines = result.stdout.trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain('worker stopped');
  });

  it('worker pretty-prints its log when PARTNER_GATEWAY_LOG_FORMAT=pretty, and refuses an unknown format', async () => {
    const prettyEnv = { ...env, PARTNER_GATEWAY_LOG_FORMAT: 'pretty' };
    const worker = startCli(['--config', configPath, 'worker', '--poll', '1'], {
      env: prettyEnv,
      ready: /worker started/,
    });
    await worker.ready;
    worker.child.kill('SIGTERM');
    const result = await worker.exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/INFO.*worker started/);
    expect(result.stdout).not.toMatch(/"msg"/);
    const bad = await runCli(['--config', configPath, 'worker'], {
      env: { ...env, PARTNER_GATEWAY_LOG_FORMAT: 'xml' },
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/PARTNER_GATEWAY_LOG_FORMAT "xml" is not one of json, pretty/);
  });

  it('status --json reports every partner and the erasures', async () => {
    const result = await cli(['--json', 'status']);
    expectOk(result);
    const status = result.json<{
      partners: { partner: string; queued: number; deadLetters: number }[];
      erasures: { pending: number; overdue: number; incomplete: unknown[] };
      log: { unsealed: number };
    }>();
    expect(status.partners.map((p) => p.partner).sort()).toEqual(Object.keys(sandbox.urls).sort());
    expect(status.partners.every((p) => p.queued === 0)).toBe(true);
    expect(status.erasures).toEqual({ pending: 0, overdue: 0, incomplete: [] });
    const deadLetters = await cli(['--json', 'dead-letters', 'list']);
    expectOk(deadLetters);
    expect(deadLetters.json<unknown[]>()).toEqual([]);
  });

  it('access reports what each partner got, as JSON and rendered', async () => {
    const json = await cli(['access', 'subj-2']);
    expectOk(json);
    const report = json.json<{ subjectId: string; partners: { partner: string }[] }>();
    expect(report.subjectId).toBe('subj-2');
    expect(report.partners.map((p) => p.partner)).toEqual(expect.arrayContaining(['elogistik', 'mailchimp']));
    const md = await cli(['access', 'subj-2', '--format', 'md', '--lang', 'en']);
    expectOk(md);
    expect(md.stdout).toMatch(/^#/m);
  });

  it('sandbox serves every partner until SIGTERM', async () => {
    const served = startCli(['--json', 'sandbox'], { env, ready: /"inspectUrl"[\s\S]*\}\s*\}\s*$/ });
    await served.ready;
    served.child.kill('SIGTERM');
    const result = await served.exited;
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { inspectUrl: string; partners: Record<string, string> };
    expect(Object.keys(printed.partners).sort()).toEqual(partnerModules.map((m) => m.partner).sort());
    expect(printed.inspectUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  // Last: it edits the shared store.
  it('audit verify fails on an edited row, naming it, with one line on stderr', async () => {
    const db = await openDatabase({ dataDir: join(dir, 'data') });
    try {
      await db.query(`update transfer_log set operation = 'tampered' where seq = 3`);
    } finally {
      await db.close();
    }
    const result = await cli(['audit', 'verify']);
    const line = oneLineError(result);
    expect(line).toMatch(/audit verify failed/);
    expect(line).toMatch(/seq 3\b/);
    expect(result.stdout).toMatch(/row edited/);
  });
});
