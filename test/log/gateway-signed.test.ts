/**
 * The gateway signs its own transfer log (issue 11, item 15, wired): every row any of its paths
 * writes (workers' intents and outcomes, an attempt closed as died, lifecycle and ops events, action
 * calls) carries a writer's tag under the audit key, its sealer signs the chain and head, and
 * gateway.audit.verify() checks them. Then someone with database access and no key inserts an
 * intent, alters an outcome and deletes a row: verify names each, and echoes no personal value.
 * Real adapters against the emulators.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointLine, parseCheckpoints } from '../../src/index.ts';
import { auditKeySource, createKeys } from '../../src/keys.ts';
import { contentColumns, contentHash } from '../../src/log/row-content.ts';
import { writeIntents } from '../../src/log/transfer-log.ts';
import {
  assertNoCanaries,
  canariesOf,
  canaryRecord,
  startTestPartners,
  type TestPartners,
} from '../../src/testing/index.ts';
import { createOpsMetrics, createOpsServer, type OpsServer } from '../../src/server/index.ts';
import { startRealGateway, type RealGateway } from '../support/real-gateway.ts';
import { startHarness, testSecrets } from '../support/harness.ts';
import { policy } from '../support/real-gateway.ts';

const records = [1, 2, 3].map((n) => canaryRecord(n));
/** The key the gateway signs with: the test secrets give the default one, derived from the pseudonym key. */
const keyring = createKeys(testSecrets, {}).audit;

let partners: TestPartners;
let running: RealGateway;

beforeAll(async () => {
  partners = await startTestPartners();
  running = await startRealGateway(partners, {
    records,
    overrides: { retry: { retryLimit: 0, retryDelaySeconds: 1, retryDelayMaxSeconds: 1 } },
  });
  const { gateway } = running;
  // A worker that wrote its intent and died before the call: the next attempt closes it as unknown.
  await writeIntents(
    gateway.database,
    [
      {
        subjectId: 'subj-1',
        partner: 'stripe',
        operation: 'upsert',
        purpose: policy.partner('stripe').purpose,
        legalBasis: policy.legalBasis('stripe'),
        trigger: 'change',
        correlationId: 'died-attempt',
        fields: ['name.first'],
        categories: ['name'],
        attempt: 1,
        policyDigest: policy.digest,
      },
    ],
    keyring,
  );
  await gateway.consent.grant('subj-1', 'marketing', { source: 'web-form', evidence: 'form-submission:7f3a9c' });
  // One partner down on the first sync: dead letters, put back by an operator (an ops event).
  partners.setFaults({ intercom: { errorRate: 1 } });
  await gateway.resync({ operator: 'ops-test' });
  await gateway.runUntilIdle();
  partners.setFaults({});
  expect(await gateway.redrive('intercom', undefined, { operator: 'ops-test' })).toBeGreaterThan(0);
  await gateway.runUntilIdle();
  await gateway.restrict('subj-2', 'disputed accuracy', { operator: 'ops-test' });
  await gateway.call('subj-1', 'alarm', { twiml: '<Response><Say>Larm</Say></Response>' });
  await gateway.erase('subj-3', { reason: 'erasure request', operator: 'ops-test' });
  await gateway.runUntilIdle();
}, 180_000);
afterAll(async () => {
  await running?.close();
  await partners?.stop();
});

type Row = Record<string, unknown> & { seq: string; kind: string; writer_mac: string | null; chain_hash: string };

const rows = () =>
  running.gateway.database.query<Row>(
    `select ${contentColumns()}, writer_mac, chain_hash from transfer_log order by transfer_log.seq`,
  );

describe("the ops server's audit routes", () => {
  const token = 'grafana-read-token-0123456789abcdef';
  const reader = { authorization: `Bearer ${token}` };
  let server: OpsServer;
  beforeAll(async () => {
    server = await createOpsServer({
      gateway: running.gateway,
      tokens: [{ name: 'grafana', role: 'read', token }],
      metrics: createOpsMetrics(),
      partnerLimits: {},
      version: 'test',
    });
  });
  afterAll(() => server?.close());
  const post = (url: string, body?: unknown) =>
    server.app.inject({
      method: 'POST',
      url,
      headers: reader,
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });

  it('take a checkpoint and verify against it with the key the server holds', async () => {
    const taken = await post('/api/v1/audit/checkpoint');
    expect(taken.statusCode, taken.body).toBe(200);
    const checkpoint = taken.json();
    const verified = await post('/api/v1/audit/verify', { against: [{ checkpoint, where: 'cron line 1' }] });
    expect(verified.json()).toMatchObject({ ok: true, checkpoints: { checked: 1 } });
  });

  it('refuse a malformed checkpoint naming the member, never echoing it; 409 for a head that does not verify', async () => {
    const checkpoint = (await post('/api/v1/audit/checkpoint')).json();
    const email = canariesOf(records[0]!).find((c) => c.includes('@'))!;
    const bad = await post('/api/v1/audit/verify', {
      against: [{ checkpoint: { ...checkpoint, position: email }, where: 'x' }],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/against\.0\.checkpoint\.position: must be a chain position/);
    expect(bad.body).not.toContain(email);
    const db = running.gateway.database;
    const [{ signature } = { signature: '' }] = await db.query<{ signature: string }>(
      `select signature from log_chain`,
    );
    await db.query(`update log_chain set signature = $1`, [`${signature.slice(0, 17)}${'0'.repeat(32)}`]);
    try {
      const refused = await post('/api/v1/audit/checkpoint');
      expect(refused.statusCode).toBe(409);
      expect(refused.json().error).toMatch(/no checkpoint taken: the chain head does not verify/);
    } finally {
      await db.query(`update log_chain set signature = $1`, [signature]);
    }
  });
});

describe("the gateway's own log", () => {
  it('tags every row it writes, on every path, and the chain and head are signed', async () => {
    const all = await rows();
    const seen = new Set(all.map((r) => `${r.kind}:${r.operation}${r.error_code === 'attempt_died' ? ':died' : ''}`));
    // Every writer took part: workers, the closing of a died attempt, lifecycle, ops and action calls.
    for (const path of [
      'intent:upsert',
      'outcome:upsert',
      'outcome:upsert:died',
      'event:consent_grant',
      'event:resync',
      'event:redrive',
      'event:restrict',
      'intent:action:alarm',
      'outcome:action:alarm',
      'event:erasure_requested',
      'intent:erase',
      'outcome:erase',
      'event:erasure_complete',
    ])
      expect(seen.has(path), path).toBe(true);
    const untagged = all.filter((r) => keyring.check('row', contentHash(r), r.writer_mac) !== 'ok');
    expect(untagged.map((r) => `${r.seq} ${r.kind} ${r.operation}`)).toEqual([]);
    const result = await running.gateway.audit.verify();
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ ok: true, signed: true, signedFrom: '1', unsealed: 0, refused: 0 });
    expect(result.rowsChecked).toBe(all.length);
    // Keyed links (key id:hex), not plain sha256 anyone could recompute.
    expect((await rows()).every((r) => /^[0-9a-f]{16}:[0-9a-f]{32}$/.test(r.chain_hash))).toBe(true);
  });

  it('a checkpoint of it verifies, and a forged one does not', async () => {
    const checkpoint = await running.gateway.audit.checkpoint();
    expect(checkpoint).toMatchObject({ keyedFrom: '1', signature: expect.stringMatching(/^[0-9a-f]{16}:/) });
    // As a host keeps it: one JSON line in a file, read back with the public helpers.
    const located = parseCheckpoints(checkpointLine(checkpoint), 'checkpoints.jsonl');
    expect((await running.gateway.audit.verify({ against: located })).ok).toBe(true);
    const { where } = located[0]!;
    const forged = { ...checkpoint, position: String(BigInt(checkpoint.position) - 1n) };
    const result = await running.gateway.audit.verify({ against: [{ checkpoint: forged, where }] });
    expect(result.problems.map((p) => p.kind)).toEqual(['checkpoint_invalid']);
  });

  it('names a forged intent, an altered outcome and a deleted row, echoing no personal value', async () => {
    const { database: db } = running.gateway;
    const [outcome] = await db.query<{ seq: string }>(
      `select seq::text as seq from transfer_log where kind = 'outcome' and outcome = 'ok' and partner = 'stripe'
       and subject_id = 'subj-1' order by seq limit 1`,
    );
    const [victim] = await db.query<{ seq: string; chain_pos: string }>(
      `select seq::text as seq, chain_pos::text as chain_pos from transfer_log where kind = 'event'
       and operation = 'restrict'`,
    );
    const canaries = canariesOf(records[0]!);
    // A database writer without the key: a transfer that never happened, carrying personal values
    // (an email as the partner id, a name as the operator) in the columns verify might print.
    const [forged] = await db.query<{ seq: string }>(
      `insert into transfer_log (kind, subject_id, partner, operation, purpose, legal_basis, trigger, operator,
         correlation_id, fields, categories, payload_digest, partner_id, attempt, policy_digest)
       select 'intent', 'subj-1', 'stripe', 'upsert', purpose, legal_basis, 'change', $1, correlation_id, fields,
         categories, payload_digest, $2, 1, policy_digest
       from transfer_log where seq = $3::bigint
       returning seq::text as seq`,
      [canaries.find((c) => !c.includes('@')) ?? 'x', canaries.find((c) => c.includes('@')), outcome!.seq],
    );
    // A failed call made to look like success, and the row saying "restricted" gone.
    await db.query(`update transfer_log set outcome = 'failed', http_status = 503 where seq = $1::bigint`, [
      outcome!.seq,
    ]);
    await db.query(`delete from transfer_log where seq = $1::bigint`, [victim!.seq]);

    const result = await running.gateway.audit.verify();
    expect(result.ok).toBe(false);
    const at = (kind: string) => result.problems.filter((p) => p.kind === kind);
    expect(at('row_forged')).toEqual([
      expect.objectContaining({
        seq: forged!.seq,
        problem: expect.stringMatching(/no writer tag.*kept out of the chain/),
      }),
    ]);
    expect(result.refused).toBe(1);
    expect(at('row_edited')).toEqual([expect.objectContaining({ seq: outcome!.seq })]);
    expect(at('rows_missing')).toEqual([
      expect.objectContaining({ problem: expect.stringContaining(victim!.chain_pos) }),
    ]);
    assertNoCanaries(JSON.stringify(result), records, 'verify result');
  });
});

describe('with no audit key configured', () => {
  const warning = /audit key is derived from the pseudonym key: set PARTNER_GATEWAY_AUDIT_KEY/;

  it('signs with a key derived from the pseudonym key, and says so at start in production only', async () => {
    const before = process.env.NODE_ENV;
    const texts: string[] = [];
    try {
      for (const mode of ['production', 'development']) {
        process.env.NODE_ENV = mode;
        const h = await startHarness();
        texts.push(h.logText());
        await h.close();
      }
      process.env.NODE_ENV = 'production';
      const explicit = await startHarness({
        overrides: { secrets: { ...testSecrets, auditKey: 'an-audit-key-of-its-own-0123' } },
      });
      texts.push(explicit.logText());
      await explicit.close();
    } finally {
      process.env.NODE_ENV = before;
    }
    expect(texts.map((t) => warning.test(t))).toEqual([true, false, false]);
    // The line names the setting, never a key.
    expect(texts[0]).not.toContain(testSecrets.pseudonymKey);
    expect(auditKeySource(testSecrets, {})).toBe('derived');
  });
});
