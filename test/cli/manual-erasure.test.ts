/**
 * `manual-erasure` through the real binary (issue 9, item 5): with a config that leaves Intercom out,
 * an erasure is incomplete in `status`, naming Intercom, until an operator records erasing it there
 * by hand; the record is logged with the operator and the erasure completes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partnerModules } from '../../adapters/index.ts';
import type { IncompleteErasure } from '../../src/gateway-api.ts';
import type { ErasureStatus } from '../../src/index.ts';
import type { Sandbox } from '../../src/sandbox/index.ts';
import { canaryRecord } from '../support/records.ts';
import {
  type CliResult,
  type CliWorkspace,
  oneLineError,
  runCli,
  startCliWorkspace,
  writeRecordsConfig,
} from './run.ts';

const TEST_TIMEOUT = 180_000;
const enabled = partnerModules.map((m) => m.partner).filter((p) => p !== 'intercom');

let workspace: CliWorkspace;
let dir: string;
let sandbox: Sandbox;
let env: NodeJS.ProcessEnv;
let configPath: string;
const record = canaryRecord(81);

const cli = (args: readonly string[]): Promise<CliResult> => runCli(['--config', configPath, ...args], { env });
function expectOk(result: CliResult): void {
  if (result.code !== 0) throw new Error(`exit ${result.code}; stderr: ${result.stderr}; stdout: ${result.stdout}`);
}

beforeAll(async () => {
  workspace = await startCliWorkspace('manual', 'cli-manual-erasure-key-0123456789');
  ({ dir, sandbox, env } = workspace);
  configPath = await writeRecordsConfig(dir, [record], [`partners: ${JSON.stringify(enabled)},`]);
}, TEST_TIMEOUT);

afterAll(() => workspace?.close());

describe('partner-gateway manual-erasure', { timeout: TEST_TIMEOUT }, () => {
  it('status names the partner without an adapter until an operator records the manual erasure', async () => {
    expectOk(await cli(['resync']));
    await cli(['erase', record.id, '--reason', 'erasure request (letter 2026-11-25)']);
    for (const p of enabled) expect(sandbox.holdings(p)).toEqual({});

    const before = await cli(['--json', 'status']);
    expectOk(before);
    const incomplete = before.json<{ erasures: { incomplete: IncompleteErasure[] } }>().erasures.incomplete;
    expect(incomplete).toEqual([
      expect.objectContaining({
        subjectId: record.id,
        missing: [expect.objectContaining({ kind: 'no-adapter', partner: 'intercom', since: expect.any(String) })],
      }),
    ]);
    const text = await cli(['status']);
    expectOk(text);
    expect(text.stdout).toMatch(new RegExp(`${record.id}\\s.*no-adapter\\s+intercom`));

    // A partner the gateway erases itself cannot be recorded by hand.
    const refused = await cli(['--operator', 'ops-lina', 'manual-erasure', record.id, 'stripe', '--reason', 'x']);
    expect(refused.code).not.toBe(0);
    expect(oneLineError(refused)).toMatch(/stripe has an adapter/);

    const recorded = await cli([
      '--operator',
      'ops-lina',
      '--json',
      'manual-erasure',
      record.id,
      'intercom',
      '--reason',
      'deleted in the Intercom inbox, ticket 1187',
    ]);
    expectOk(recorded);
    expect(recorded.json<ErasureStatus>()).toMatchObject({ complete: true, missing: [] });
    const after = await cli(['--json', 'status']);
    expect(after.json<{ erasures: unknown }>().erasures).toEqual({ pending: 0, overdue: 0, incomplete: [] });
    const audit = await cli(['--json', 'audit', 'list', '--subject', record.id]);
    expectOk(audit);
    expect(audit.json<{ operation: string; partner: string | null; operator: string | null }[]>()).toContainEqual(
      expect.objectContaining({ operation: 'manual_erasure', partner: 'intercom', operator: 'ops-lina' }),
    );
  });
});
