/**
 * Issue 10 through the ops server (what `--server` uses): drift detection and repair
 * (POST /api/v1/drift) and a resync over the deletion limit with allowMassDeletion, with the real
 * adapters against the emulators. Reading drift is a read token's (ids and found / not found only);
 * repairing and overriding the limit are an operator's, logged with the token's name.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOpsServer, type OpsServer } from '../../src/server/index.ts';
import { canaryRecords, startTestPartners, type TestPartners } from '../../src/testing/index.ts';
import { capturedLogger } from '../support/log-capture.ts';
import { startRealGateway, type RealGateway } from '../support/real-gateway.ts';

const tokens = [
  { name: 'ops-alice', role: 'operator' as const, token: 'alice-operator-token-0123456789abcdef' },
  { name: 'grafana', role: 'read' as const, token: 'grafana-read-token-0123456789abcdef' },
];
const operator = { authorization: `Bearer ${tokens[0]!.token}` };
const reader = { authorization: `Bearer ${tokens[1]!.token}` };
const records = canaryRecords(10);

let partners: TestPartners;
let running: RealGateway | undefined;
let server: OpsServer | undefined;
let serverLog: () => string;

beforeAll(async () => {
  partners = await startTestPartners({ partners: ['stripe', 'elogistik', 'intercom'] });
});
afterAll(() => partners.stop());
afterEach(async () => {
  await server?.close();
  await running?.close();
  server = running = undefined;
  partners.reset();
});

// The answers' shapes are what the tests assert: read loosely, checked field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Answer = any;

async function start(): Promise<{
  post: (
    url: string,
    body: unknown,
    headers?: Record<string, string>,
  ) => Promise<{ statusCode: number; json(): Answer; body: string }>;
}> {
  running = await startRealGateway(partners, { records, overrides: { retry: { retryLimit: 0 } } });
  const { logger, text } = capturedLogger();
  serverLog = text;
  server = await createOpsServer({ gateway: running.gateway, tokens, logger, version: 'test' });
  await running.gateway.resync();
  await running.gateway.runUntilIdle();
  expect(Object.keys(partners.holdings('stripe'))).toHaveLength(10);
  const app = server.app;
  return {
    post: (url, body, headers = operator) =>
      app.inject({ method: 'POST', url, headers, payload: body as Record<string, unknown> }),
  };
}

async function deleteAtStripe(id: string): Promise<void> {
  const answer = await partners.emulator('stripe').handle({
    method: 'DELETE',
    path: `/v1/customers/${id}`,
    query: new URLSearchParams(),
    headers: { authorization: 'Bearer sk_test_sandbox' },
    body: Buffer.alloc(0),
  });
  expect(answer.status).toBe(200);
}

describe('POST /api/v1/drift', () => {
  it('a read token sees what a partner lost (no personal value); repair needs an operator, who re-creates it', async () => {
    const { post } = await start();
    const [lostId, lost] = Object.entries(partners.holdings('stripe')).find(([, h]) =>
      JSON.stringify(h.personal).includes('CanaryGiven3x7q'),
    )!;
    await deleteAtStripe(lostId);
    expect(lost).toBeDefined();

    const read = await post('/api/v1/drift', { subjects: ['subj-3', 'subj-4'] }, reader);
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json()).toEqual({
      checked: 6,
      findings: [
        { subjectId: 'subj-3', partner: 'stripe', believed: 'held', actual: 'nothing', repairEnqueued: false },
      ],
    });
    expect(read.body).not.toContain('Canary');

    const refused = await post('/api/v1/drift', { subjects: ['subj-3'], repair: true }, reader);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toMatch(/operator role.*grafana/);
    const bad = await post('/api/v1/drift', { subjects: [records[0]!.email], partner: 'stripe' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).not.toContain(records[0]!.email);
    expect((await post('/api/v1/drift', { partner: 'stripee' })).statusCode).toBe(400);

    const repaired = await post('/api/v1/drift', { subjects: ['subj-3'], partner: 'stripe', repair: true });
    expect(repaired.statusCode, repaired.body).toBe(200);
    expect(repaired.json().findings.map((f: { repairEnqueued: boolean }) => f.repairEnqueued)).toEqual([true]);
    await running!.gateway.runUntilIdle();
    expect(Object.values(partners.holdings('stripe')).map((h) => h.personal)).toContainEqual({
      name: 'CanaryGiven3x7q CanaryFamily3x7q',
    });
    expect((await post('/api/v1/drift', { subjects: ['subj-3'] }, reader)).json().findings).toEqual([]);

    // Each check logged in the transfer log with the token's name, and the repair in the server log.
    const log = await running!.gateway.audit.list({});
    expect(log.filter((r) => r.operation === 'drift_check').map((r) => r.operator)).toEqual([
      'grafana',
      'ops-alice',
      'grafana',
    ]);
    expect(log.filter((r) => r.operation === 'drift_repaired').map((r) => r.subjectId)).toEqual(['subj-3']);
    expect(serverLog()).toMatch(/"operator":"ops-alice","action":"drift repair"/);
    expect(serverLog()).not.toContain('Canary');
  });

  it('is in the OpenAPI document', async () => {
    await start();
    const doc = (await server!.app.inject({ url: '/openapi.json', headers: reader })).json();
    expect(doc.paths['/api/v1/drift'].post.requestBody.content['application/json'].schema.properties).toHaveProperty(
      'repair',
    );
    expect(doc.paths['/api/v1/resync'].post.requestBody.content['application/json'].schema.properties).toHaveProperty(
      'allowMassDeletion',
    );
  });
});

describe('POST /api/v1/resync with allowMassDeletion', () => {
  it('over the limit: refused without it; with it an operator goes on, logged with the token name; a reader may not', async () => {
    const { post } = await start();
    for (const id of ['subj-1', 'subj-2', 'subj-3']) running!.source.delete(id);

    const refused = await post('/api/v1/resync', {});
    expect(refused.json().deletions).toMatchObject({ subjects: 3, refused: true, overridden: false });
    expect((await running!.gateway.status()).missingRecords.count).toBe(0);
    expect((await post('/api/v1/resync', { allowMassDeletion: true }, reader)).statusCode).toBe(403);

    const allowed = await post('/api/v1/resync', { allowMassDeletion: true });
    expect(allowed.statusCode, allowed.body).toBe(200);
    expect(allowed.json().deletions).toMatchObject({ subjects: 3, refused: false, overridden: true });
    await running!.gateway.runUntilIdle();
    const status = await running!.gateway.status();
    expect(status.missingRecords.oldest.map((m) => m.subjectId)).toEqual(['subj-1', 'subj-2', 'subj-3']);
    const events = (await running!.gateway.audit.list({})).filter((r) => r.operation === 'resync_mass_deletion');
    expect(events.map((e) => e.operator)).toEqual(['ops-alice']);
    expect(serverLog()).toMatch(/"operator":"ops-alice","action":"resync".*"massDeletionAllowed":true/);
  });
});
