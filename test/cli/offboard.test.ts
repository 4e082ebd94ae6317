/**
 * `offboard` through the real binary (issue 12, item 4): Intercom is taken out of the policy the CLI
 * runs; `status` shows it still holds a subject, `offboard intercom` erases it there (exit 3 while
 * erasures are left, 0 once it holds nothing) and `status` then says done.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayStatus } from '../../src/gateway-api.ts';
import type { Sandbox } from '../../src/sandbox/index.ts';
import { canaryRecord } from '../support/records.ts';
import { type CliResult, type CliWorkspace, runCli, startCliWorkspace, writeRecordsConfig } from './run.ts';

const TEST_TIMEOUT = 180_000;
const shippedPolicy = fileURLToPath(new URL('../../config/policy.yaml', import.meta.url));

let workspace: CliWorkspace;
let dir: string;
let sandbox: Sandbox;
let env: NodeJS.ProcessEnv;
let configPath: string;
const record = canaryRecord(84);

const cli = (args: readonly string[]): Promise<CliResult> => runCli(['--config', configPath, ...args], { env });
function expectExit(result: CliResult, code: number): void {
  if (result.code !== code)
    throw new Error(`exit ${result.code}, expected ${code}; stderr: ${result.stderr}; stdout: ${result.stdout}`);
}

beforeAll(async () => {
  workspace = await startCliWorkspace('offboard', 'cli-offboard-key-0123456789abcdef');
  ({ dir, sandbox, env } = workspace);
  await copyFile(shippedPolicy, join(dir, 'policy.yaml'));
  configPath = await writeRecordsConfig(dir, [record], [`policy: 'policy.yaml',`]);
}, TEST_TIMEOUT);

afterAll(() => workspace?.close());

describe('partner-gateway offboard', { timeout: TEST_TIMEOUT }, () => {
  it('erases what a partner removed from the policy holds; status shows progress, then done', async () => {
    expectExit(await cli(['resync']), 0);
    expect(Object.keys(sandbox.holdings('intercom'))).toHaveLength(1);

    // The operator takes Intercom out of the policy.
    const text = await readFile(join(dir, 'policy.yaml'), 'utf8');
    const without = text.replace(/\n {2}intercom:\n[\s\S]*?(?=\n {2}twilio:\n)/, '');
    expect(without).not.toMatch(/\n {2}intercom:/);
    await writeFile(join(dir, 'policy.yaml'), without);

    const before = await cli(['--json', 'status']);
    expectExit(before, 0);
    expect(before.json<GatewayStatus>().offboarding).toEqual([
      expect.objectContaining({ partner: 'intercom', holding: 1, done: false }),
    ]);
    expect((await cli(['status'])).stdout).toContain('offboarding intercom: 1 subject(s) still held');

    const dry = await cli(['offboard', 'intercom', '--dry-run']);
    expectExit(dry, 0);
    expect(dry.stdout).toContain('1 subject(s) still held there');
    expect(Object.keys(sandbox.holdings('intercom'))).toHaveLength(1);

    // Enqueued and not waited for: work is left, exit 3.
    expectExit(await cli(['offboard', 'intercom', '--no-wait']), 3);
    const done = await cli(['offboard', 'intercom']);
    expectExit(done, 0);
    expect(done.stdout).toContain('done: intercom holds nothing the gateway knows of');
    expect(sandbox.holdings('intercom')).toEqual({});
    // The partners still in the policy keep the subject.
    expect(Object.keys(sandbox.holdings('elogistik'))).toHaveLength(1);

    const after = await cli(['--json', 'status']);
    expect(after.json<GatewayStatus>().offboarding).toEqual([
      expect.objectContaining({ partner: 'intercom', holding: 0, erased: 1, done: true }),
    ]);
    expect((await cli(['status'])).stdout).toContain('offboarding intercom: done');
    for (const out of [before, dry, done, after]) expect(out.stdout + out.stderr).not.toContain(record.email);
  });

  it('refuses to offboard a partner the policy still names (usage error, exit 2)', async () => {
    const refused = await cli(['offboard', 'elogistik']);
    expectExit(refused, 2);
    expect(refused.stderr).toContain("the policy still names 'elogistik'");
  });
});
