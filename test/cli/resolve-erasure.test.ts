/**
 * `resolve-erasure` through the real binary (issue 9, item 4): Auth0 made the user but its answer was
 * lost, so the gateway never learned the id and Auth0 cannot be searched by the pseudonym. The erasure
 * stays incomplete ('unknown' at Auth0) until an operator looks, deletes it there and says so; that is
 * logged with the operator and the erasure completes, exit 0.
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
const enabled = partnerModules.map((m) => m.partner);

let workspace: CliWorkspace;
let dir: string;
let sandbox: Sandbox;
let env: NodeJS.ProcessEnv;
let configPath: string;
const record = canaryRecord(83);

const cli = (args: readonly string[]): Promise<CliResult> => runCli(['--config', configPath, ...args], { env });
function expectOk(result: CliResult): void {
  if (result.code !== 0) throw new Error(`exit ${result.code}; stderr: ${result.stderr}; stdout: ${result.stdout}`);
}

beforeAll(async () => {
  workspace = await startCliWorkspace('resolve', 'cli-resolve-erasure-key-0123456789');
  ({ dir, sandbox, env } = workspace);
  configPath = await writeRecordsConfig(dir, [record], [`partners: ${JSON.stringify(enabled)},`]);
}, TEST_TIMEOUT);

afterAll(() => workspace?.close());

describe('partner-gateway resolve-erasure', { timeout: TEST_TIMEOUT }, () => {
  it('settles an unknown outcome the operator resolved at the partner, logged with the operator', async () => {
    expectOk(await cli(['resync']));
    // Mailchimp makes the member on the grant, and its answer is lost: the gateway never learns the
    // member's id, and Mailchimp cannot be searched by the pseudonym.
    sandbox.setFaults({ mailchimp: { dropRate: 1, afterHandling: true } });
    await cli(['consent', 'grant', record.id, '--purpose', 'marketing', '--source', 'web-form', '--evidence', 'f-83']);
    sandbox.setFaults({});
    const made = Object.keys(sandbox.holdings('mailchimp'));
    expect(made).toHaveLength(1);

    // Erased before the grant's retry: when the retry runs, the subject is erased and the erase finds nothing.
    const erased = await cli(['erase', record.id, '--reason', 'erasure request (letter 2026-12-01)']);
    expect(erased.code).toBe(3);
    await cli(['resync', '--subject', record.id, '--wait-for-retries']);
    const status = await cli(['--json', 'status']);
    const [before] = status.json<{ erasures: { incomplete: IncompleteErasure[] } }>().erasures.incomplete;
    expect(before).toMatchObject({
      subjectId: record.id,
      missing: [expect.objectContaining({ kind: 'unknown-outcome', partner: 'mailchimp' })],
    });
    for (const p of enabled.filter((p) => p !== 'mailchimp')) expect(sandbox.holdings(p), p).toEqual({});

    const bad = await cli([
      '--operator',
      'ops-lina',
      'resolve-erasure',
      record.id,
      'mailchimp',
      '--resolution',
      'gone',
    ]);
    expect(bad.code).toBe(2);
    expect(oneLineError(bad)).toMatch(/none-found, deleted-manually, kept-for-other-subject/);

    // The operator finds the member in Mailchimp and deletes it there (here: with the adapter), then says so.
    const mailchimp = partnerModules.find((m) => m.partner === 'mailchimp')!;
    const adapter = mailchimp.createAdapter(mailchimp.sandboxOptions(sandbox.url('mailchimp')) as never);
    await adapter.erase({ pseudonym: 'operator', partnerIds: made }, 'delete', {
      correlationId: 'operator',
      idempotencyKey: 'operator',
    });
    const resolved = await cli([
      '--operator',
      'ops-lina',
      '--json',
      'resolve-erasure',
      record.id,
      'mailchimp',
      '--resolution',
      'deleted-manually',
    ]);
    expectOk(resolved);
    expect(resolved.json<ErasureStatus>()).toMatchObject({ complete: true, missing: [] });
    for (const p of enabled) expect(sandbox.holdings(p), p).toEqual({});
    const audit = await cli(['--json', 'audit', 'list', '--subject', record.id]);
    expect(audit.json<{ operation: string; partner: string | null; operator: string | null }[]>()).toContainEqual(
      expect.objectContaining({
        operation: 'erasure_resolved:deleted-manually',
        partner: 'mailchimp',
        operator: 'ops-lina',
      }),
    );
  });
});
