/**
 * `audit checkpoint` and `audit verify --against` through the real binary, on an embedded store
 * holding a signed log (written by the log's own writers with the key the CLI reads from
 * PARTNER_GATEWAY_AUDIT_KEY), tampered with between runs as someone with database access would.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAuditKeys } from '../../src/keys.ts';
import type { VerifyResult } from '../../src/log/chain.ts';
import { openDatabase, type Database } from '../../src/store/database.ts';
import { migrate } from '../../src/store/migrate.ts';
import { cleanEnv, oneLineError, runCli, type CliResult } from '../cli/run.ts';
import { pseudonymKey, recomputeChain, seqsOf, positionOf, writeSignedLog, type SignedLog } from './signed-log.ts';

const TIMEOUT = 180_000;
const auditKey = 'cli-audit-key-kept-off-the-database-0123';
const configModule = pathToFileURL(fileURLToPath(new URL('../../src/cli/config.ts', import.meta.url))).href;

let dir: string;
let dataDir: string;
let pristine: string;
let env: NodeJS.ProcessEnv;
let log: SignedLog;

const cli = (args: readonly string[]): Promise<CliResult> =>
  runCli(['--config', join(dir, 'partner-gateway.config.ts'), ...args], { env });

function expectOk(result: CliResult): void {
  if (result.code !== 0) throw new Error(`exit ${result.code}; stderr: ${result.stderr}; stdout: ${result.stdout}`);
}

/** Opens the store in this process (the CLI is not running), applies the change, closes it again. */
async function tamper(change: (db: Database) => Promise<unknown>): Promise<void> {
  const db = await openDatabase({ dataDir });
  try {
    await change(db);
  } finally {
    await db.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'partner-gateway-audit-cli-'));
  dataDir = join(dir, 'data');
  pristine = join(dir, 'pristine');
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await writeFile(
    join(dir, 'partner-gateway.config.ts'),
    [
      `import { defineConfig } from '${configModule}';`,
      `export default defineConfig({ source: { get: async () => null, async *scan() {} }, partners: [] });`,
    ].join('\n'),
  );
  env = cleanEnv({
    PARTNER_GATEWAY_PSEUDONYM_KEY: pseudonymKey,
    PARTNER_GATEWAY_AUDIT_KEY: auditKey,
    PARTNER_GATEWAY_DATA_DIR: dataDir,
  });
  const db = await openDatabase({ dataDir });
  try {
    await migrate(db);
    log = await writeSignedLog(db, createAuditKeys({ pseudonymKey }, { PARTNER_GATEWAY_AUDIT_KEY: auditKey }));
  } finally {
    await db.close();
  }
  await cp(dataDir, pristine, { recursive: true });
}, TIMEOUT);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('audit checkpoint and audit verify --against, through the binary', { timeout: TIMEOUT }, () => {
  // A file of its own per test, named checkpoints.jsonl in messages.
  let n = 0;
  let current = '';
  const checkpoints = () => current;

  beforeEach(async () => {
    current = join(dir, `t${++n}`, 'checkpoints.jsonl');
    await mkdir(join(dir, `t${n}`));
    await rm(dataDir, { recursive: true, force: true });
    await cp(pristine, dataDir, { recursive: true });
  });

  it('checkpoint appends a signed head to a file, or prints one JSON line for a log shipper', async () => {
    const appended = await cli(['audit', 'checkpoint', '--out', checkpoints()]);
    expectOk(appended);
    expect(appended.stdout).toMatch(
      new RegExp(`^checkpoint of chain position ${log.checkpoint.position} \\(chain [0-9a-f-]{36}\\) appended to `),
    );
    expectOk(await cli(['audit', 'checkpoint', '--out', checkpoints()]));
    const lines = (await readFile(checkpoints(), 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines)
      expect(JSON.parse(line)).toMatchObject({
        type: 'partner-gateway.audit-checkpoint',
        position: log.checkpoint.position,
        hash: log.checkpoint.hash,
        keyedFrom: '1',
        signature: expect.stringMatching(/^[0-9a-f]{16}:[0-9a-f]{32}$/),
      });

    const printed = await cli(['audit', 'checkpoint']);
    expectOk(printed);
    expect(printed.stdout.endsWith('\n')).toBe(true);
    expect(printed.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(printed.stdout)).toMatchObject({
      chainId: log.checkpoint.chainId,
      position: log.checkpoint.position,
    });
  });

  it('verify --against passes on the untouched log and says what it checked', async () => {
    await writeFile(checkpoints(), log.checkpoints.map((c) => JSON.stringify(c.checkpoint)).join('\n') + '\n');
    const result = await cli(['audit', 'verify', '--against', checkpoints()]);
    expectOk(result);
    expect(result.stdout).toMatch(
      /^audit log verified: \d+ row\(s\) checked, \d+ purged by retention, 0 not sealed yet; signed with the audit key from chain position 1; consistent with 2 checkpoint\(s\) in .*checkpoints\.jsonl \(furthest: position \d+/,
    );
    const json = await cli(['--json', 'audit', 'verify', '--against', checkpoints()]);
    expectOk(json);
    expect(json.json<VerifyResult>()).toMatchObject({ ok: true, signed: true, checkpoints: { checked: 2 } });
  });

  it('a cut tail with a genuine earlier head copied back passes verify alone, and fails --against', async () => {
    const file = checkpoints();
    expectOk(await cli(['audit', 'checkpoint', '--out', file]));
    await tamper(async (db) => {
      await db.query(`delete from transfer_log where chain_pos > $1::bigint`, [log.earlyHead.last_pos]);
      await db.query(`update log_chain set last_pos = $1, last_hash = $2, sealed_at = $3, signature = $4`, [
        log.earlyHead.last_pos,
        log.earlyHead.last_hash,
        log.earlyHead.sealed_at,
        log.earlyHead.signature,
      ]);
    });
    expectOk(await cli(['audit', 'verify']));
    const result = await cli(['audit', 'verify', '--against', file]);
    const line = oneLineError(result);
    expect(line).toMatch(
      /^partner-gateway: audit verify failed: 1 problem\(s\): chain position -: the log ends at chain position \d+, but .*checkpoints\.jsonl line 1 \(taken [^)]+\) recorded position \d+: rows \d+\.\.\d+ were removed and the head moved back$/,
    );
    expect(result.stdout).toMatch(/tail_missing/);
  });

  it('a wipe fails verify, alone (the links remember) and --against (the checkpoint does)', async () => {
    const file = checkpoints();
    expectOk(await cli(['audit', 'checkpoint', '--out', file]));
    await tamper(async (db) => {
      await db.query(`delete from transfer_log`);
      await db.query(`delete from log_chain`);
    });
    expect(oneLineError(await cli(['audit', 'verify']))).toMatch(
      /links record data sent to partners: the log was wiped/,
    );
    expect(oneLineError(await cli(['audit', 'verify', '--against', file]))).toMatch(
      /is not the one .*checkpoints\.jsonl line 1 \(taken [^)]+\) was taken of .*: the log was wiped and started again/,
    );
  });

  it('an edit hidden by a recomputed chain is named by seq; a row inserted by hand too', async () => {
    const file = checkpoints();
    expectOk(await cli(['audit', 'checkpoint', '--out', file]));
    let edited = '';
    let inserted = '';
    await tamper(async (db) => {
      edited = (await seqsOf(db, 'subj-3'))[0]!;
      await db.query(`update transfer_log set partner = 'mailchimp' where seq = $1`, [edited]);
      await recomputeChain(db, BigInt(await positionOf(db, edited)), 'guessed-key');
      const [row] = await db.query<{ seq: string }>(
        `insert into transfer_log (kind, operation, trigger, correlation_id, policy_digest) values ('event', 'erasure_requested', 'ops', 'x', 'p')
         returning seq::text as seq`,
      );
      inserted = row!.seq;
    });
    const result = await cli(['audit', 'verify']);
    const line = oneLineError(result);
    expect(line).toMatch(new RegExp(`seq ${edited}: not written by the gateway as it is`));
    expect(result.stdout).toMatch(new RegExp(`\\b${inserted}\\s+row_forged\\s+not written by the gateway`));
    expect(oneLineError(await cli(['audit', 'verify', '--against', file]))).toMatch(/no longer holds the row/);
  });

  it('a checkpoint file that was edited, or is not one, is refused with the line named', async () => {
    const edited = { ...log.checkpoint, position: '3' };
    await writeFile(checkpoints(), `${JSON.stringify(edited)}\n`);
    expect(oneLineError(await cli(['audit', 'verify', '--against', checkpoints()]))).toMatch(
      /checkpoints\.jsonl line 1: the checkpoint's signature does not match: the checkpoint file was edited/,
    );
    await writeFile(checkpoints(), `\n{"type":"partner-gateway.audit-checkpoint","version":1}\n`);
    expect(oneLineError(await cli(['audit', 'verify', '--against', checkpoints()]))).toMatch(
      /^.*checkpoints\.jsonl line 2 is not an audit checkpoint: chainId: /,
    );
    expect(oneLineError(await cli(['audit', 'verify', '--against', join(dir, 'missing.jsonl')]))).toMatch(
      /cannot read the checkpoint file .*missing\.jsonl: ENOENT/,
    );
  });
});
