/**
 * A partner module of the host's own in the CLI's config (`modules`, README "Writing your own
 * adapter"): the binary keeps the example partner (examples/custom-adapter) in step and erases there,
 * as it does a shipped one; a malformed module is refused, naming the entry.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { stripePartner } from '../../adapters/index.ts';
import { rewardsPartner } from '../../examples/custom-adapter/index.ts';
import { canaryRecord } from '../support/records.ts';
import { runCli, startCliWorkspace, writeRecordsConfig, type CliResult, type CliWorkspace } from './run.ts';

const TEST_TIMEOUT = 120_000;
const root = new URL('../../', import.meta.url);
const exampleModule = pathToFileURL(fileURLToPath(new URL('examples/custom-adapter/index.ts', root))).href;

let workspace: CliWorkspace;
let dir: string;
let env: NodeJS.ProcessEnv;
const record = canaryRecord(91);

function expectExit(result: CliResult, code: number): void {
  if (result.code !== code)
    throw new Error(`exit ${result.code}, expected ${code}; stderr: ${result.stderr}; stdout: ${result.stdout}`);
}

beforeAll(async () => {
  workspace = await startCliWorkspace('own-module', 'cli-own-module-key-0123456789abcdef', [
    rewardsPartner.createEmulator(),
    stripePartner.createEmulator(),
  ]);
  ({ dir, env } = workspace);
  // The host's policy.yaml: the shipped one with the example's entry added.
  const policy = parse(await readFile(new URL('config/policy.yaml', root), 'utf8')) as Record<string, object>;
  const entry = parse(await readFile(new URL('examples/custom-adapter/policy-entry.yaml', root), 'utf8')) as Record<
    string,
    object
  >;
  await writeFile(
    join(dir, 'policy.yaml'),
    stringify({
      ...policy,
      purposes: { ...policy.purposes, ...entry.purposes },
      partners: { ...policy.partners, ...entry.partners },
    }),
  );
}, TEST_TIMEOUT);

afterAll(() => workspace?.close());

describe('a partner module of your own in the config', { timeout: TEST_TIMEOUT }, () => {
  it('resync sends the partner what its policy entry allows, and erase empties it', async () => {
    const config = await writeRecordsConfig(
      dir,
      [record],
      [
        `policy: 'policy.yaml',`,
        `partners: ['rewards', 'stripe'],`,
        `modules: [(await import('${exampleModule}')).rewardsPartner],`,
      ],
    );
    expectExit(await runCli(['--config', config, 'resync'], { env }), 0);
    const held = Object.values(workspace.sandbox.holdings('rewards'));
    expect(held).toHaveLength(1);
    expect(Object.keys(held[0]!.personal).sort()).toEqual(['email', 'name.family', 'name.given']);
    expect(Object.keys(workspace.sandbox.holdings('stripe'))).toHaveLength(1);

    // The other partners of the policy have no adapter in this config: the erasure is not complete
    // (exit 4) and says so; where there is one, nothing is left.
    const erased = await runCli(['--config', config, 'erase', record.id, '--reason', 'erasure request'], { env });
    expectExit(erased, 4);
    expect(erased.stderr).toContain('elogistik (no-adapter)');
    expect(erased.stderr).not.toContain('rewards');
    expect(workspace.sandbox.holdings('rewards')).toEqual({});
    expect(workspace.sandbox.holdings('stripe')).toEqual({});
  });

  it('without the module, the partner is named as having no adapter (exit 1, a config error)', async () => {
    const config = await writeRecordsConfig(
      dir,
      [record],
      [`policy: 'policy.yaml',`, `partners: ['rewards'],`],
      'bare.config.ts',
    );
    const result = await runCli(['--config', config, 'status'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("no adapter for partner 'rewards' in adapters/ or the config's modules");
  });

  it('a malformed module is refused, naming the entry and what it lacks', async () => {
    const config = await writeRecordsConfig(dir, [record], [`modules: [{ partner: 'rewards' }],`], 'broken.config.ts');
    const result = await runCli(['--config', config, 'status'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /invalid config .*broken\.config\.ts: modules\.0\.optionsFromEnv: must be a function/,
    );
    expect(result.stderr).not.toContain(record.email!);
  });
});
