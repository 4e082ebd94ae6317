/**
 * The request register from the command line, through the real binary against an embedded store:
 * what an operator does when a signed letter arrives, and what they see when a deadline has passed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubjectRequest } from '../../src/lifecycle/types.ts';
import { canaryRecord } from '../support/records.ts';
import { cleanEnv, oneLineError, runCli, type CliResult } from '../cli/run.ts';

const TIMEOUT = 120_000;
const configModule = pathToFileURL(fileURLToPath(new URL('../../src/cli/config.ts', import.meta.url))).href;
const record = canaryRecord(1);
let dir: string;
let env: NodeJS.ProcessEnv;

const cli = (args: readonly string[]): Promise<CliResult> =>
  runCli(['--config', join(dir, 'partner-gateway.config.ts'), '--operator', 'ops-lina', ...args], { env });

function ok(result: CliResult): CliResult {
  if (result.code !== 0) throw new Error(`exit ${result.code}; stderr: ${result.stderr}`);
  return result;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'partner-gateway-requests-'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await writeFile(
    join(dir, 'partner-gateway.config.ts'),
    [
      `import { defineConfig } from '${configModule}';`,
      `const records = [${JSON.stringify(record)}];`,
      `export default defineConfig({`,
      `  source: { get: async (id: string) => records.find((r) => r.id === id) ?? null, async *scan() { yield* records; } },`,
      `});`,
    ].join('\n'),
  );
  env = cleanEnv({
    PARTNER_GATEWAY_PSEUDONYM_KEY: 'requests-cli-key-0123456789',
    PARTNER_GATEWAY_DATA_DIR: join(dir, 'data'),
  });
}, TIMEOUT);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('partner-gateway requests', { timeout: TIMEOUT }, () => {
  it('registers, verifies and answers an access request, lists overdue ones first, and reports for the request', async () => {
    const late = ok(
      await cli([
        '--json',
        'requests',
        'receive',
        'subj-2',
        '--kind',
        'erasure',
        '--channel',
        'letter',
        '--received',
        '2026-01-05',
      ]),
    ).json<SubjectRequest>();
    expect(late).toMatchObject({ kind: 'erasure', state: 'overdue', operator: 'ops-lina' });
    expect(late.dueAt).toBe('2026-02-05T22:59:59.999Z');

    const received = ok(
      await cli([
        'requests',
        'receive',
        'subj-1',
        '--kind',
        'access',
        '--channel',
        'letter',
        '--reference',
        'letter:2026-0107',
      ]),
    );
    const id = /^request (\d+) \(access, subj-1\) received: due /.exec(received.stdout)?.[1];
    expect(id, received.stdout).toBeDefined();
    ok(await cli(['requests', 'verify', id!, '--method', 'signed-letter', '--reference', 'letter:2026-0107']));

    const listed = ok(await cli(['requests', 'list'])).stdout.split('\n');
    expect(listed[0]).toMatch(/^id\s+subject\s+kind\s+received\s+verified\s+due \(UTC\)\s+state\s+answered$/);
    expect(listed[1]).toMatch(new RegExp(`^${late.id}\\s+subj-2\\s+erasure\\s.*\\soverdue\\s`));
    expect(listed[2]).toMatch(new RegExp(`^${id}\\s+subj-1\\s+access\\s.*signed-letter.*\\sopen\\s`));
    const overdue = ok(await cli(['--json', 'requests', 'list', '--overdue'])).json<SubjectRequest[]>();
    expect(overdue.map((r) => r.id)).toEqual([late.id]);

    const report = ok(await cli(['requests', 'report', id!, '--format', 'md', '--lang', 'en'])).stdout;
    expect(report).toContain('This report answers your access request');
    expect(report).toContain('a personally signed letter');
    expect(report).toContain('## At Videquus');
    expect(report).toContain('### Your customer record');

    const answered = ok(
      await cli(['--json', 'requests', 'answer', id!, '--channel', 'letter', '--reference', 'letter:2026-0139']),
    ).json<SubjectRequest>();
    expect(answered).toMatchObject({ state: 'answered', outcome: 'fulfilled', answerChannel: 'letter' });
    const shown = ok(await cli(['requests', 'show', id!])).stdout;
    expect(shown).toMatch(/answered\s+\S+ by letter, fulfilled \(letter:2026-0139\)/);
    expect(shown).toMatch(/registered by\s+ops-lina/);
  });

  it('says what is wrong in one line, echoing no personal value', async () => {
    const email = record.email!;
    expect(oneLineError(await cli(['requests', 'receive', email, '--kind', 'access', '--channel', 'letter']))).toMatch(
      /invalid subject id/,
    );
    const badReference = await cli([
      'requests',
      'receive',
      'subj-1',
      '--kind',
      'access',
      '--channel',
      'letter',
      '--reference',
      email,
    ]);
    expect(oneLineError(badReference)).toMatch(/request reference must be a reference/);
    expect(badReference.stderr).not.toContain(email);
    expect(oneLineError(await cli(['requests', 'show', email]))).toMatch(/invalid request id/);
    expect(oneLineError(await cli(['requests', 'show', '424242']))).toMatch(/request 424242 is not in the register/);
    expect(
      oneLineError(await cli(['requests', 'receive', 'subj-1', '--kind', 'complaint', '--channel', 'letter'])),
    ).toMatch(/--kind/);
  });
});
