/**
 * Read-only commands (status, dead-letters list, audit list/verify/export) through the real binary on
 * a store made by a run with every key and credential, then without the pseudonym key and without
 * any partner's credentials, as a monitoring account or an auditor runs them. Commands that need
 * what is missing name the setting.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partnerModules } from '../../adapters/index.ts';
import type { DeadLetter, GatewayStatus, TransferRow } from '../../src/index.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';
import { assertNoCanaries, canaryRecords } from '../../src/testing/index.ts';
import { cleanEnv, oneLineError, runCli, writeRecordsConfig } from './run.ts';

const TIMEOUT = 180_000;
const records = canaryRecords(3);
const pseudonymKey = 'cli-read-only-pseudonym-key-0123';
const auditKey = 'cli-read-only-audit-key-0123456789';

let dir: string;
let sandbox: Sandbox;
let config: string;
const dataDir = () => join(dir, 'data');

/** What a watcher has: the config and the store, no pseudonym key, no partner credential. */
const watcherEnv = (extra: Record<string, string> = {}) => cleanEnv({ PARTNER_GATEWAY_DATA_DIR: dataDir(), ...extra });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'partner-gateway-cli-read-only-'));
  sandbox = await startSandbox({ emulators: partnerModules.map((m) => m.createEmulator()) });
  config = await writeRecordsConfig(
    dir,
    records,
    [`partners: ['elogistik', 'stripe'],`, `retry: { retryLimit: 0, retryDelaySeconds: 1 },`],
    'read-only.config.ts',
  );
  // The service's run: every key, the partners in the sandbox, stripe failing, so 3 dead letters.
  sandbox.setFaults({ stripe: { errorRate: 1 } });
  const service = await runCli(['--config', config, 'resync'], {
    env: cleanEnv({
      PARTNER_GATEWAY_PSEUDONYM_KEY: pseudonymKey,
      PARTNER_GATEWAY_AUDIT_KEY: auditKey,
      PARTNER_GATEWAY_SANDBOX_URL: sandbox.inspectUrl,
      PARTNER_GATEWAY_DATA_DIR: dataDir(),
    }),
  });
  expect(service.code, service.stderr).toBe(4);
  sandbox.setFaults({});
}, TIMEOUT);

afterAll(async () => {
  await sandbox?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('read-only commands without the pseudonym key or partner credentials', { timeout: TIMEOUT }, () => {
  it('status and dead-letters list read the store', async () => {
    const status = await runCli(['--config', config, '--json', 'status'], { env: watcherEnv() });
    expect(status.code, status.stderr).toBe(0);
    const partners = status.json<GatewayStatus>().partners;
    expect(partners.map((p) => [p.partner, p.deadLetters])).toEqual([
      ['elogistik', 0],
      ['stripe', 3],
    ]);
    const letters = await runCli(['--config', config, '--json', 'dead-letters', 'list'], { env: watcherEnv() });
    expect(letters.code, letters.stderr).toBe(0);
    expect(
      letters
        .json<DeadLetter[]>()
        .map((d) => `${d.partner} ${d.subjectId}`)
        .sort(),
    ).toEqual(records.map((r) => `stripe ${r.id}`).sort());
    assertNoCanaries(status.stdout + status.stderr + letters.stdout + letters.stderr, records, 'read-only output');
  });

  it('audit list and export need no key; audit verify needs only the audit key', async () => {
    const list = await runCli(['--config', config, '--json', 'audit', 'list', '--limit', '1000'], {
      env: watcherEnv(),
    });
    expect(list.code, list.stderr).toBe(0);
    const rows = list.json<TransferRow[]>();
    expect(rows.filter((r) => r.partner === 'elogistik' && r.kind === 'outcome' && r.outcome === 'ok')).toHaveLength(3);
    const exported = await runCli(['--config', config, 'audit', 'export'], { env: watcherEnv() });
    expect(exported.code, exported.stderr).toBe(0);
    assertNoCanaries(exported.stdout, records, 'the audit export');

    const verify = await runCli(['--config', config, 'audit', 'verify'], {
      env: watcherEnv({ PARTNER_GATEWAY_AUDIT_KEY: auditKey }),
    });
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/audit log verified: \d+ row\(s\) checked/);
    // Another audit key does not vouch for this log.
    const wrong = await runCli(['--config', config, 'audit', 'verify'], {
      env: watcherEnv({ PARTNER_GATEWAY_AUDIT_KEY: 'some-other-audit-key-0123456789' }),
    });
    expect(wrong.code).not.toBe(0);
  });

  it('audit verify without any key, and commands that act, name the setting they lack', async () => {
    const verify = await runCli(['--config', config, 'audit', 'verify'], { env: watcherEnv() });
    expect(verify.code).toBe(1);
    expect(oneLineError(verify)).toMatch(/set PARTNER_GATEWAY_AUDIT_KEY, or PARTNER_GATEWAY_PSEUDONYM_KEY/);
    const resync = await runCli(['--config', config, 'resync', '--dry-run'], { env: watcherEnv() });
    expect(oneLineError(resync)).toMatch(/PARTNER_GATEWAY_PSEUDONYM_KEY is not set/);
    const retry = await runCli(['--config', config, 'dead-letters', 'retry', '--partner', 'stripe'], {
      env: watcherEnv(),
    });
    expect(oneLineError(retry)).toMatch(/PARTNER_GATEWAY_PSEUDONYM_KEY is not set/);
    // With the key but no credentials, a command that calls partners names the credentials.
    const noCredentials = await runCli(['--config', config, 'resync', '--dry-run'], {
      env: watcherEnv({ PARTNER_GATEWAY_PSEUDONYM_KEY: pseudonymKey }),
    });
    expect(oneLineError(noCredentials)).toMatch(/partner credentials missing: .*ELOGISTIK_TOKEN.*STRIPE_API_KEY/);
  });

  it('with a wrong pseudonym key, even status is refused: the store was made with another', async () => {
    const status = await runCli(['--config', config, 'status'], {
      env: watcherEnv({ PARTNER_GATEWAY_PSEUDONYM_KEY: 'not-the-key-of-this-store-0123' }),
    });
    expect(oneLineError(status)).toMatch(/PARTNER_GATEWAY_PSEUDONYM_KEY .* is not the key this store was made with/);
  });
});
