/**
 * Operating through the real binary: CLI conventions (--version, JSON errors), the CLI talking to a
 * `worker --serve` that holds the embedded store (--server), and progress that tells the truth when a
 * partner fails (dead letters apart, the summary on timeout, the exit code saying what is left).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partnerModules } from '../../adapters/index.ts';
import type { ErasureStatus, TransferRow } from '../../src/index.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { assertNoCanaries, canariesOf, canaryRecords } from '../../src/testing/index.ts';
import { cleanEnv, oneLineError, runCli, startCli } from './run.ts';

const TIMEOUT = 180_000;
const configModule = pathToFileURL(fileURLToPath(new URL('../../src/cli/config.ts', import.meta.url))).href;
const operatorToken = 'cli-ops-operator-token-0123456789';
const readToken = 'cli-ops-read-token-0123456789abcd';
const records = canaryRecords(3);

let dir: string;
let sandbox: Sandbox;

async function writeConfig(name: string, extra: string): Promise<string> {
  const path = join(dir, `${name}.config.ts`);
  await writeFile(
    path,
    [
      `import { readFileSync } from 'node:fs';`,
      `import { defineConfig } from '${configModule}';`,
      `const records: { id: string }[] = JSON.parse(readFileSync(new URL('./records.json', import.meta.url), 'utf8'));`,
      `const byId = new Map(records.map((r) => [r.id, r]));`,
      `export default defineConfig({`,
      `  source: { get: async (id: string) => byId.get(id) ?? null, async *scan() { yield* records; } },`,
      `  partners: ['elogistik', 'stripe', 'intercom'],`,
      `  ${extra}`,
      `});`,
    ].join('\n'),
  );
  return path;
}

function envFor(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return cleanEnv({
    PARTNER_GATEWAY_PSEUDONYM_KEY: 'cli-ops-test-pseudonym-key-0123',
    PARTNER_GATEWAY_SANDBOX_URL: sandbox.inspectUrl,
    PARTNER_GATEWAY_DATA_DIR: join(dir, dataDir),
    ...extra,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'partner-gateway-cli-ops-'));
  sandbox = await startSandbox({ emulators: partnerModules.map((m) => m.createEmulator()) });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await writeFile(join(dir, 'records.json'), JSON.stringify(records));
}, TIMEOUT);

afterAll(async () => {
  await sandbox?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('CLI conventions', { timeout: TIMEOUT }, () => {
  it('--version prints the package version', async () => {
    const result = await runCli(['--version'], { env: cleanEnv({}) });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('under --json, errors are one JSON object on stderr with the exit code', async () => {
    const usage = await runCli(['--json', 'resync', '--no-such-option'], { env: cleanEnv({}) });
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stderr)).toEqual({
      error: { message: expect.stringMatching(/unknown option '--no-such-option'/), exitCode: 2 },
    });
    const missing = await runCli(['--json', '--config', join(dir, 'none.config.ts'), 'status'], {
      env: cleanEnv({}),
    });
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr).error.message).toMatch(/config file not found/);
  });

  it('--help shows examples and the exit codes', async () => {
    const top = await runCli(['--help'], { env: cleanEnv({}) });
    expect(top.stdout).toMatch(/Examples:/);
    expect(top.stdout).toMatch(/3 work left/);
    expect(top.stdout).toMatch(/4 dead letters/);
    const erase = await runCli(['erase', '--help'], { env: cleanEnv({}) });
    expect(erase.stdout).toMatch(/Examples:\n\s+partner-gateway erase cust-42/);
  });
});

describe('the CLI against a running worker --serve', { timeout: TIMEOUT }, () => {
  let worker: ReturnType<typeof startCli>;
  let url: string;
  let config: string;
  const serverEnv = () => cleanEnv({ PARTNER_GATEWAY_SERVER_URL: url, PARTNER_GATEWAY_OPS_TOKEN: operatorToken });

  beforeAll(async () => {
    config = await writeConfig('served', '');
    worker = startCli(['--config', config, 'worker', '--serve', '--port', '0', '--poll', '1'], {
      env: envFor('served-data', {
        PARTNER_GATEWAY_OPS_TOKENS: `ops-alice:operator:${operatorToken},grafana:read:${readToken}`,
      }),
      ready: /worker started/,
    });
    await worker.ready;
    url = /ops server on (http:\/\/127\.0\.0\.1:\d+)/.exec(worker.stdout())![1]!;
  }, TIMEOUT);

  afterAll(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
  });

  it('the store is held: without --server a command gets the clear lock error', async () => {
    const direct = await runCli(['--config', config, 'status'], { env: envFor('served-data') });
    expect(oneLineError(direct)).toMatch(/database url|in use|locked|another process/i);
  });

  it('with --server, resync, status, erase and the audit log work with no key, credentials or config', async () => {
    const resync = await runCli(['resync'], { env: serverEnv() });
    expect(resync.code, resync.stderr).toBe(0);
    expect(resync.stdout).toMatch(/resync done: every partner is in step/);
    expect(Object.keys(sandbox.holdings('stripe'))).toHaveLength(3);

    const status = await runCli(['--json', 'status'], { env: serverEnv() });
    expect(status.code, status.stderr).toBe(0);
    expect(status.json<{ partners: { partner: string }[] }>().partners.map((p) => p.partner)).toEqual([
      'elogistik',
      'stripe',
      'intercom',
    ]);

    // Through --server the CLI cannot ask the record source whether it knows the id: it says so.
    const unconfirmed = await runCli(['erase', 'subj-2', '--reason', 'erasure request'], { env: serverEnv() });
    expect(unconfirmed.code).toBe(5);
    expect(oneLineError(unconfirmed)).toMatch(/cannot be checked through --server.*--yes/);
    const erase = await runCli(
      ['--json', '--operator', 'someone-else', 'erase', 'subj-2', '--reason', 'erasure request', '--yes'],
      { env: serverEnv() },
    );
    // Every partner with an adapter confirmed; the four this gateway has none for are owed by hand, so
    // the erasure is not complete and the command does not exit 0.
    const erased = JSON.parse(erase.stdout) as ErasureStatus;
    expect(
      erased.partners.filter((p) => p.state !== 'no-adapter').map((p) => `${p.partner} ${p.state}`),
      erase.stderr,
    ).toEqual(['elogistik confirmed', 'stripe confirmed', 'intercom confirmed']);
    expect(erased.complete).toBe(false);
    expect(erased.missing.map((m) => m.kind)).toEqual(Array(4).fill('no-adapter'));
    expect(erase.code).not.toBe(0);
    const held = JSON.stringify([sandbox.holdings('stripe'), sandbox.holdings('elogistik')]);
    for (const canary of canariesOf(records[1]!)) expect(held).not.toContain(canary);

    const audit = await runCli(['--json', 'audit', 'list', '--subject', 'subj-2', '--limit', '1000'], {
      env: serverEnv(),
    });
    const rows = audit.json<TransferRow[]>();
    // The server logs the token's name, not what the client claims.
    expect(rows.some((r) => r.trigger === 'erasure' && r.operator === 'ops-alice')).toBe(true);
    expect(rows.some((r) => r.operator === 'someone-else')).toBe(false);
    const exported = await runCli(['audit', 'export', '--format', 'csv'], { env: serverEnv() });
    expect(exported.code).toBe(0);
    assertNoCanaries(exported.stdout, records, 'the audit export');
    // Verified by the server with its audit key, which the CLI does not have.
    const verify = await runCli(['audit', 'verify'], { env: serverEnv() });
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(
      /audit log verified: \d+ row\(s\) checked.*signed with the audit key from chain position 1/,
    );
    const checkpoints = join(dir, 'server-checkpoints.jsonl');
    const checkpoint = await runCli(['audit', 'checkpoint', '--out', checkpoints], { env: serverEnv() });
    expect(checkpoint.code, checkpoint.stderr).toBe(0);
    const against = await runCli(['audit', 'verify', '--against', checkpoints], { env: serverEnv() });
    expect(against.code, against.stderr).toBe(0);
    expect(against.stdout).toMatch(/consistent with 1 checkpoint\(s\)/);
    // A checkpoint edited to claim a longer chain is refused by the server's key.
    const line = JSON.parse(await readFile(checkpoints, 'utf8')) as { position: string };
    await writeFile(checkpoints, `${JSON.stringify({ ...line, position: String(Number(line.position) + 5) })}\n`);
    const edited = await runCli(['audit', 'verify', '--against', checkpoints], { env: serverEnv() });
    expect(oneLineError(edited)).toMatch(/checkpoint's signature does not match/);
  });

  it('with --server, drift checks the partners through the server, and resync takes --allow-mass-deletion', async () => {
    const readEnv = cleanEnv({ PARTNER_GATEWAY_SERVER_URL: url, PARTNER_GATEWAY_OPS_TOKEN: readToken });
    const drift = await runCli(['--json', 'drift', '--subject', 'subj-1'], { env: readEnv });
    expect(drift.code, drift.stderr).toBe(0);
    expect(drift.json()).toEqual({ checked: 3, findings: [] });
    const repair = await runCli(['drift', '--subject', 'subj-1', '--repair'], { env: readEnv });
    expect(oneLineError(repair)).toMatch(/HTTP 403: repair needs the operator role/);
    const repaired = await runCli(['drift', '--sample', '10', '--repair'], { env: serverEnv() });
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stderr + repaired.stdout).toMatch(/drift: checked \d+ \(subject, partner\) pair\(s\), 0 differ/);
    const resync = await runCli(['resync', '--allow-mass-deletion'], { env: serverEnv() });
    expect(resync.code, resync.stderr).toBe(0);
    const audit = await runCli(['--json', 'audit', 'list', '--limit', '1000'], { env: serverEnv() });
    const rows = audit.json<TransferRow[]>();
    expect(rows.filter((r) => r.operation === 'drift_check').map((r) => r.operator)).toEqual(['grafana', 'ops-alice']);
  });

  it('a read token may look but not act, and a bad token is refused', async () => {
    const readEnv = cleanEnv({ PARTNER_GATEWAY_SERVER_URL: url, PARTNER_GATEWAY_OPS_TOKEN: readToken });
    expect((await runCli(['dead-letters', 'list'], { env: readEnv })).code).toBe(0);
    const erase = await runCli(['erase', 'subj-3', '--reason', 'x', '--yes'], { env: readEnv });
    expect(oneLineError(erase)).toMatch(/HTTP 403: this needs the operator role/);
    const badEnv = cleanEnv({ PARTNER_GATEWAY_SERVER_URL: url, PARTNER_GATEWAY_OPS_TOKEN: `${readToken}x` });
    expect(oneLineError(await runCli(['status'], { env: badEnv }))).toMatch(/HTTP 401/);
    const noToken = cleanEnv({ PARTNER_GATEWAY_SERVER_URL: url });
    expect(oneLineError(await runCli(['status'], { env: noToken }))).toMatch(/PARTNER_GATEWAY_OPS_TOKEN is not set/);
  });
});

describe('serve', { timeout: TIMEOUT }, () => {
  it('runs the ops server alone until SIGTERM, health public and the rest behind a token', async () => {
    const config = await writeConfig('serve-only', '');
    const served = startCli(['--json', '--config', config, 'serve', '--port', '0'], {
      env: envFor('serve-only-data', { PARTNER_GATEWAY_OPS_TOKENS: `grafana:read:${readToken}` }),
      ready: /"openapi"/,
    });
    await served.ready;
    const printed = JSON.parse(
      served
        .stdout()
        .split('\n')
        .find((l) => l.includes('"openapi"'))!,
    ) as { url: string };
    expect((await fetch(`${printed.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${printed.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${printed.url}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${printed.url}/metrics`, { headers: { authorization: `Bearer ${readToken}` } });
    expect(await metrics.text()).toMatch(/partner_gateway_queue_jobs\{partner="stripe",state="queued"\} 0/);
    served.child.kill('SIGTERM');
    expect((await served.exited).code).toBe(0);
  });

  it('refuses a malformed token list, naming the entry and not the token', async () => {
    const config = await writeConfig('serve-bad', '');
    const result = await runCli(['--config', config, 'serve', '--port', '0'], {
      env: envFor('serve-bad-data', { PARTNER_GATEWAY_OPS_TOKENS: 'alice:admin:secret-secret-secret-secret' }),
    });
    expect(oneLineError(result)).toMatch(
      /PARTNER_GATEWAY_OPS_TOKENS entry 1 \(alice\): the role must be read or operator/,
    );
    expect(result.stderr).not.toContain('secret-secret');
  });
});

describe('progress under faults', { timeout: TIMEOUT }, () => {
  afterAll(() => sandbox.setFaults({}));

  it('dead letters are counted apart, the summary is printed, and the exit code is 4', async () => {
    sandbox.reset();
    sandbox.setFaults({ stripe: { errorRate: 1, retryAfterSeconds: 1 } });
    const config = await writeConfig('dead', 'retry: { retryLimit: 0, retryDelaySeconds: 1 },');
    const result = await runCli(['--config', config, 'resync'], { env: envFor('dead-data') });
    expect(result.code, result.stderr).toBe(4);
    const row = (partner: string) =>
      result.stdout
        .split('\n')
        .find((l) => l.startsWith(partner))!
        .trim()
        .split(/\s+/);
    // partner creates updates erasures suppressions unchanged skipped missing invalid done retrying dead left
    expect(row('stripe').slice(-4)).toEqual(['0', '0', '3', '0']);
    expect(row('elogistik').slice(-4)).toEqual(['3', '0', '0', '0']);
    expect(result.stderr).toMatch(/resync stripe\s+0\/3 done, 0 retrying, 3 dead/);
    expect(result.stderr).not.toMatch(/stripe\s+3\/3 done/);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(
      /^partner-gateway: resync: 3 dead letter\(s\) \(see: partner-gateway dead-letters list\)$/,
    );
  });

  it('--quiet: no progress, no table, no informational line; the exit code and the one error line tell', async () => {
    sandbox.reset();
    sandbox.setFaults({ stripe: { errorRate: 1, retryAfterSeconds: 1 } });
    const config = await writeConfig('quiet', 'retry: { retryLimit: 0, retryDelaySeconds: 1 },');
    const result = await runCli(['--config', config, '--quiet', 'resync'], { env: envFor('quiet-data') });
    expect(result.code, result.stderr).toBe(4);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      'partner-gateway: resync: 3 dead letter(s) (see: partner-gateway dead-letters list)',
    ]);
    // What a quiet run did is still there for whoever asks.
    const status = await runCli(['--config', config, '--quiet', '--json', 'status'], { env: envFor('quiet-data') });
    expect(status.json<{ partners: { partner: string; deadLetters: number }[] }>().partners).toContainEqual(
      expect.objectContaining({ partner: 'stripe', deadLetters: 3 }),
    );
  });

  it('on timeout, retries waiting are shown as retrying, the summary is printed, and the exit code is 3', async () => {
    sandbox.reset();
    sandbox.setFaults({ intercom: { errorRate: 1, retryAfterSeconds: 1 } });
    const config = await writeConfig(
      'slow',
      'retry: { retryLimit: 5, retryDelaySeconds: 60, retryDelayMaxSeconds: 60 },',
    );
    const result = await runCli(['--config', config, 'resync', '--wait-for-retries', '--timeout', '4'], {
      env: envFor('slow-data'),
    });
    expect(result.code, result.stderr).toBe(3);
    const intercom = result.stdout
      .split('\n')
      .find((l) => l.startsWith('intercom'))!
      .trim()
      .split(/\s+/);
    expect(intercom.slice(-4)).toEqual(['0', '3', '0', '0']);
    expect(result.stdout).toMatch(/resync stopped waiting after 4 s, left: 3 job\(s\) waiting for a retry/);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(
      /resync: not finished after 4 s: 3 job\(s\) waiting for a retry; the workers go on with them$/,
    );
  });
});
