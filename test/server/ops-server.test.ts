/**
 * The ops server against a real gateway (embedded store in memory) and the partner emulators: every
 * route's authentication and role, what the metrics show (and that no subject id or personal value
 * is in them), and that API state changes reach the partners and are logged with the token's name.
 * The tests run in order and share the gateway.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway, type TransferRow } from '../../src/index.ts';
import { createOpsMetrics, createOpsServer, type OpsServer } from '../../src/server/index.ts';
import {
  assertNoCanaries,
  canariesOf,
  canaryRecord,
  canaryRecords,
  MemorySource,
  startTestPartners,
  type TestPartners,
} from '../../src/testing/index.ts';

const PARTNERS = ['elogistik', 'stripe', 'mailchimp'];
const tokens = [
  { name: 'ops-alice', role: 'operator' as const, token: 'alice-operator-token-0123456789abcdef' },
  { name: 'grafana', role: 'read' as const, token: 'grafana-read-token-0123456789abcdef' },
];
const operator = { authorization: `Bearer ${tokens[0]!.token}` };
const reader = { authorization: `Bearer ${tokens[1]!.token}` };
const records = canaryRecords(4);

let partners: TestPartners;
let gateway: Gateway;
let server: OpsServer;
const source = new MemorySource(records);

const get = (url: string, headers: Record<string, string> = operator) => server.app.inject({ url, headers });
const post = (url: string, body: unknown, headers: Record<string, string> = operator) =>
  server.app.inject({ method: 'POST', url, headers, payload: body as Record<string, unknown> });

beforeAll(async () => {
  partners = await startTestPartners({ partners: PARTNERS });
  const metrics = createOpsMetrics();
  gateway = await createGateway({
    database: { memory: true },
    adapters: partners.adapters(),
    source,
    secrets: { pseudonymKey: 'ops-server-test-key-0123456789' },
    retry: { retryLimit: 0, retryDelaySeconds: 1, retryDelayMaxSeconds: 1 },
    observer: metrics.observer,
    limits: { stripe: { perSecond: 50 } },
    logger: pino({ level: 'silent' }),
  });
  server = await createOpsServer({
    gateway,
    tokens,
    metrics,
    partnerLimits: { stripe: { perSecond: 50 } },
    version: 'test',
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await gateway?.stop();
  await partners?.stop();
});

describe('ops server', () => {
  it('answers health without a token, and is ready on a migrated store', async () => {
    const health = await server.app.inject({ url: '/healthz' });
    expect(health.statusCode).toBe(200);
    const ready = await server.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ ready: true, problems: [] });
  });

  it('refuses every other route without a token, and a token that matches none', async () => {
    const routes = [
      ['GET', '/metrics'],
      ['GET', '/openapi.json'],
      ['GET', '/api/v1/status'],
      ['GET', '/api/v1/overview'],
      ['GET', '/api/v1/dead-letters'],
      ['POST', '/api/v1/dead-letters/retry'],
      ['GET', '/api/v1/erasures'],
      ['GET', '/api/v1/erasures/subj-1'],
      ['POST', '/api/v1/subjects/subj-1/erase'],
      ['POST', '/api/v1/subjects/subj-1/restrict'],
      ['POST', '/api/v1/subjects/subj-1/unrestrict'],
      ['POST', '/api/v1/subjects/subj-1/consent/grant'],
      ['GET', '/api/v1/subjects/subj-1/consent'],
      ['GET', '/api/v1/subjects/subj-1/access'],
      ['POST', '/api/v1/resync'],
      ['GET', '/api/v1/audit'],
      ['GET', '/api/v1/audit/verify'],
      ['GET', '/api/v1/audit/export'],
      ['GET', '/api/v1/no-such-route'],
    ] as const;
    for (const [method, url] of routes) {
      const none = await server.app.inject({ method, url });
      expect(none.statusCode, `${method} ${url} without a token`).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
      const bad = await server.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${tokens[0]!.token.slice(0, -1)}x` },
      });
      expect(bad.statusCode, `${method} ${url} with a bad token`).toBe(401);
      expect(bad.json().error).toMatch(/matches none/);
      expect(bad.body).not.toContain(tokens[0]!.token.slice(0, 20));
    }
  });

  it('lets a read token read, and refuses it everything that changes state or shows personal data', async () => {
    for (const url of ['/api/v1/status', '/api/v1/overview', '/api/v1/audit', '/api/v1/audit/verify', '/metrics'])
      expect((await get(url, reader)).statusCode, url).toBe(200);
    const refused = [
      post('/api/v1/subjects/subj-1/erase', { reason: 'test' }, reader),
      post('/api/v1/subjects/subj-1/restrict', { reason: 'test' }, reader),
      post('/api/v1/dead-letters/retry', { partner: 'stripe' }, reader),
      post('/api/v1/resync', { dryRun: true }, reader),
      get('/api/v1/subjects/subj-1/access', reader),
      get('/api/v1/subjects/subj-1/consent', reader),
    ];
    for (const response of await Promise.all(refused)) {
      expect(response.statusCode).toBe(403);
      expect(response.json().error).toMatch(/operator role.*grafana/);
    }
    expect((await get('/api/v1/whoami', reader)).json()).toEqual({ name: 'grafana', role: 'read' });
  });

  it('serves an OpenAPI document that describes the API and its bearer security', async () => {
    const doc = (await get('/openapi.json', reader)).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    for (const path of [
      '/api/v1/status',
      '/api/v1/dead-letters/retry',
      '/api/v1/subjects/{subject}/erase',
      '/api/v1/subjects/{subject}/consent/{verb}',
      '/api/v1/subjects/{subject}/access',
      '/api/v1/resync',
      '/api/v1/audit/export',
      '/metrics',
      '/readyz',
    ])
      expect(Object.keys(doc.paths), path).toContain(path);
    expect(
      doc.paths['/api/v1/subjects/{subject}/erase'].post.requestBody.content['application/json'].schema,
    ).toMatchObject({ required: ['reason'] });
  });

  it('resyncs through the API: a dry run counts, a real one reaches the partners, logged with the token name', async () => {
    const dry = await post('/api/v1/resync', { dryRun: true });
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toMatchObject({ dryRun: true, scanned: 4, enqueued: 0 });
    expect(Object.keys(partners.holdings('stripe'))).toHaveLength(0);
    const real = await post('/api/v1/resync', { partners: ['stripe', 'elogistik'] });
    expect(real.statusCode).toBe(200);
    expect(real.json().enqueued).toBe(8);
    await gateway.runUntilIdle();
    expect(Object.keys(partners.holdings('stripe'))).toHaveLength(4);
    const rows: TransferRow[] = (await get('/api/v1/audit?limit=1000', reader)).json();
    expect(rows.some((r) => r.trigger === 'resync' && r.operator === 'ops-alice')).toBe(true);
  });

  it('names what is wrong with bad input, never echoing the value', async () => {
    const email = records[1]!.email!;
    const bad = await post(`/api/v1/subjects/${encodeURIComponent(email)}/erase`, { reason: 'x' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/params\.subject.*subject id/);
    expect(bad.body).not.toContain(email);
    const blank = await post('/api/v1/subjects/subj-1/restrict', { reason: '  ' });
    expect(blank.statusCode).toBe(400);
    expect(blank.json().error).toMatch(/reason/);
    const unknown = await post('/api/v1/resync', { partners: ['stripee'] });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toMatch(/unknown partner stripee/);
    const notJson = await server.app.inject({
      method: 'POST',
      url: '/api/v1/subjects/subj-1/restrict',
      headers: { ...operator, 'content-type': 'application/json' },
      payload: `{"reason": "${email}`,
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.body).not.toContain(email);
  });

  it('turns a partner failure into a dead letter the API lists and retries', async () => {
    partners.setFaults({ stripe: { errorRate: 1, retryAfterSeconds: 1 } });
    // A corrected name that Stripe must get: the job fails (retry limit 0) and becomes a dead letter.
    source.put({ ...records[1]!, name: { given: 'Retried', family: 'Nameson' } });
    await post('/api/v1/resync', { partners: ['stripe'], subjects: ['subj-2'] });
    await gateway.runUntilIdle({ timeoutMs: 20_000 });
    const letters = (await get('/api/v1/dead-letters?partner=stripe', reader)).json();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ partner: 'stripe', subjectId: 'subj-2' });
    // Scraped while a dead letter names a subject: the metrics count it without naming it.
    const scraped = (await get('/metrics', reader)).body;
    expect(scraped).toMatch(/partner_gateway_dead_letters\{partner="stripe"\} 1/);
    assertNoCanaries(scraped, records, 'the metrics');
    for (const r of records) expect(scraped).not.toContain(r.id);
    const missing = await post('/api/v1/dead-letters/retry', { partner: 'stripe', ids: ['no-such-id'] });
    expect(missing.statusCode).toBe(404);
    partners.setFaults({});
    const retried = await post('/api/v1/dead-letters/retry', { partner: 'stripe', ids: [letters[0].id] });
    expect(retried.json()).toMatchObject({ partner: 'stripe', requeued: 1, deadLetters: 0 });
    await new Promise((r) => setTimeout(r, 1_100)); // the partner's Retry-After pause
    await gateway.runUntilIdle({ timeoutMs: 20_000 });
    expect(JSON.stringify(partners.holdings('stripe'))).toContain('Nameson');
    const rows: TransferRow[] = (await get('/api/v1/audit?partner=stripe&limit=1000', reader)).json();
    expect(rows.some((r) => r.operation === 'redrive' && r.operator === 'ops-alice')).toBe(true);
  });

  it('exposes the calls, failures, pauses, queues and erasures as Prometheus metrics, with no subject in any label', async () => {
    const text = (await get('/metrics', reader)).body;
    expect(text).toMatch(
      /partner_gateway_partner_calls_total\{partner="stripe",operation="[a-z_]+",outcome="ok"\} \d+/,
    );
    expect(text).toMatch(
      /partner_gateway_partner_calls_total\{partner="stripe",operation="[a-z_]+",outcome="failed"\} \d+/,
    );
    expect(text).toMatch(/partner_gateway_partner_call_duration_seconds_bucket\{le="0.1",partner="elogistik"/);
    expect(text).toMatch(/partner_gateway_partner_pauses_total\{partner="stripe"\} [1-9]/);
    expect(text).toMatch(/partner_gateway_partner_errors_total\{partner="stripe",code="[^"]+"\} [1-9]/);
    // Retry limit 0: the one failure was the job's last attempt, so it is counted as a dead letter.
    expect(text).toMatch(/partner_gateway_jobs_total\{partner="stripe",status="deadletter"\} 1/);
    expect(text).not.toMatch(/partner_gateway_jobs_total\{partner="stripe",status="failed"\}/);
    expect(text).toMatch(/partner_gateway_queue_jobs\{partner="mailchimp",state="queued"\} 0/);
    expect(text).toMatch(/partner_gateway_dead_letters\{partner="stripe"\} 0/);
    expect(text).toMatch(/partner_gateway_erasures_pending 0/);
    expect(text).toMatch(/partner_gateway_log_unsealed_rows \d+/);
    expect(text).toMatch(/partner_gateway_ready 1/);
    assertNoCanaries(text, records, 'the metrics');
    for (const r of records) expect(text).not.toContain(r.id);
  });

  it('shows per partner how long the oldest ready job has waited, and the requests open and overdue', async () => {
    // A gateway of its own whose workers never start, so a job waits for as long as the test says.
    const idle = await createGateway({
      database: { memory: true },
      adapters: partners.adapters(),
      source,
      secrets: { pseudonymKey: 'ops-server-test-key-0123456789' },
      logger: pino({ level: 'silent' }),
    });
    const idleServer = await createOpsServer({ gateway: idle, tokens });
    try {
      const scrape = async () => (await idleServer.app.inject({ url: '/metrics', headers: reader })).body;
      const gauge = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
      const lagOf = (text: string, partner: string) =>
        Number(new RegExp(`^partner_gateway_queue_lag_seconds\\{partner="${partner}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
      const before = await scrape();
      expect(lagOf(before, 'elogistik')).toBe(0);
      expect(gauge(before, 'partner_gateway_requests_open')).toBe(0);
      expect(gauge(before, 'partner_gateway_requests_overdue')).toBe(0);

      await idle.changed('subj-4');
      // Received two months ago: past its one-month due date. And one received today.
      await idle.requests.receive('subj-4', {
        kind: 'access',
        channel: 'letter',
        receivedAt: new Date(Date.now() - 62 * 86_400_000),
      });
      await idle.requests.receive('subj-1', { kind: 'objection', channel: 'email' });
      await new Promise((r) => setTimeout(r, 1_500));
      const waiting = await scrape();
      const lag = lagOf(waiting, 'elogistik');
      expect(lag).toBeGreaterThanOrEqual(1.4);
      expect(lag).toBeLessThan(30);
      expect(gauge(waiting, 'partner_gateway_requests_open')).toBe(2);
      expect(gauge(waiting, 'partner_gateway_requests_overdue')).toBe(1);
      const status = (await idleServer.app.inject({ url: '/api/v1/status', headers: reader })).json();
      expect(status.partners).toContainEqual(expect.objectContaining({ partner: 'elogistik', queued: 1 }));
      // The dashboard's view: the wait in whole seconds beside the queue.
      const overview = (await idleServer.app.inject({ url: '/api/v1/overview', headers: reader })).json();
      const shown = overview.partners.find((p: { partner: string }) => p.partner === 'elogistik');
      expect(shown.queued).toBe(1);
      // Read a moment after the scrape: the wait may have grown since.
      expect(shown.lagSeconds).toBeGreaterThanOrEqual(Math.floor(lag));
      expect(shown.lagSeconds).toBeLessThanOrEqual(Math.ceil(lag) + 1);
      expect(
        status.partners.find((p: { partner: string }) => p.partner === 'elogistik').lagSeconds,
      ).toBeGreaterThanOrEqual(1.4);
      assertNoCanaries(waiting, records, 'the metrics');
      for (const r of records) expect(waiting).not.toContain(r.id);

      await idle.runUntilIdle({ timeoutMs: 20_000 });
      expect(lagOf(await scrape(), 'elogistik')).toBe(0);
    } finally {
      await idleServer.close();
      await idle.stop();
    }
  });

  it('shows rate use against the limit and the pause on the overview', async () => {
    const overview = (await get('/api/v1/overview', reader)).json();
    const stripe = overview.partners.find((p: { partner: string }) => p.partner === 'stripe');
    expect(stripe.limitPerSecond).toBe(50);
    expect(stripe.callsPerSecond).toBeGreaterThan(0);
    expect(stripe.rateUse).toBeCloseTo(stripe.callsPerSecond / 50, 2);
    expect(overview.partners.find((p: { partner: string }) => p.partner === 'elogistik').rateUse).toBeNull();
  });

  it('erases, restricts and records consent through the API, logged with the token name', async () => {
    const consent = await post('/api/v1/subjects/subj-3/consent/grant', {
      purpose: 'marketing',
      source: 'web-form',
      evidence: 'form-3',
    });
    expect(consent.statusCode).toBe(200);
    expect(consent.json()).toMatchObject({ status: 'granted', operator: 'ops-alice' });
    const badPurpose = await post('/api/v1/subjects/subj-3/consent/grant', { purpose: 'payment', source: 'web-form' });
    expect(badPurpose.statusCode).toBe(400);
    expect((await post('/api/v1/subjects/subj-4/restrict', { reason: 'accuracy disputed' })).json()).toEqual({
      subjectId: 'subj-4',
      restricted: true,
    });
    const erase = await post('/api/v1/subjects/subj-1/erase', { reason: 'erasure request (ticket 17)' });
    expect(erase.statusCode).toBe(200);
    await gateway.runUntilIdle();
    const status = (await get('/api/v1/erasures/subj-1', reader)).json();
    // Every partner with an adapter settled; the four this gateway has none for are owed by hand.
    const settled = status.partners.filter((p: { state: string }) => p.state !== 'no-adapter');
    expect(settled.map((p: { partner: string }) => p.partner).sort()).toEqual([...PARTNERS].sort());
    for (const p of settled) expect(['confirmed', 'nothing-held'], p.partner).toContain(p.state);
    expect(status.complete).toBe(false);
    expect(status.missing.map((m: { kind: string }) => m.kind)).toEqual(Array(4).fill('no-adapter'));
    const held = JSON.stringify(partners.allHoldings());
    for (const canary of canariesOf(records[0]!)) expect(held).not.toContain(canary);
    expect(JSON.stringify(partners.holdings('mailchimp'))).toContain(records[2]!.email!);
    const rows: TransferRow[] = (await get('/api/v1/audit?limit=1000', reader)).json();
    const alice = rows.filter((r) => r.operator === 'ops-alice');
    for (const trigger of ['erasure', 'consent', 'restriction'])
      expect(
        alice.some((r) => r.trigger === trigger),
        trigger,
      ).toBe(true);
  });

  it('settles a conflict at a partner through the API, logged with the token name; refuses bad input and readers', async () => {
    // Two customers with one email address: one Mailchimp member for both.
    const a = canaryRecord(71);
    const b = canaryRecord(72, { email: a.email });
    source.put(a);
    source.put(b);
    for (const s of [a, b]) {
      await post(`/api/v1/subjects/${s.id}/consent/grant`, { purpose: 'marketing', source: 'web-form', evidence: 'f' });
    }
    await gateway.runUntilIdle();
    await post(`/api/v1/subjects/${a.id}/erase`, { reason: 'erasure request (ticket 71)' });
    await gateway.runUntilIdle();
    const status = (await get(`/api/v1/erasures/${a.id}`, reader)).json();
    expect(status.partners.find((p: { partner: string }) => p.partner === 'mailchimp').state).toBe('conflict');
    expect(JSON.stringify(partners.holdings('mailchimp'))).toContain(b.email!);

    const url = `/api/v1/erasures/${a.id}/partners/mailchimp/resolve`;
    expect((await post(url, { resolution: 'kept-for-other-subject' }, reader)).statusCode).toBe(403);
    const bad = await post(url, { resolution: 'gone' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).not.toContain(a.email!);
    const resolved = await post(url, { resolution: 'kept-for-other-subject' });
    expect(resolved.statusCode).toBe(200);
    const after = resolved.json();
    expect(after.partners.find((p: { partner: string }) => p.partner === 'mailchimp').state).toBe('confirmed');
    expect(after.missing.filter((m: { kind: string }) => m.kind !== 'no-adapter')).toEqual([]);
    expect((await post(url, { resolution: 'none-found' })).statusCode).toBe(400);
    const rows: TransferRow[] = (await get(`/api/v1/audit?subject=${a.id}&limit=100`, reader)).json();
    expect(rows).toContainEqual(
      expect.objectContaining({ operation: 'erasure_resolved:kept-for-other-subject', operator: 'ops-alice' }),
    );
  });

  it('shows the access report to an operator, rendered and sandboxed', async () => {
    const json = await get('/api/v1/subjects/subj-2/access');
    expect(json.statusCode).toBe(200);
    expect(json.json().subjectId).toBe('subj-2');
    expect(json.headers['cache-control']).toBe('no-store');
    const html = await get('/api/v1/subjects/subj-2/access?format=html&lang=en');
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.headers['content-security-policy']).toMatch(/sandbox/);
    expect(html.body).toMatch(/<h1/);
  });

  it('verifies and exports the audit log, with no personal value in it', async () => {
    const verify = (await get('/api/v1/audit/verify', reader)).json();
    expect(verify.ok).toBe(true);
    const csv = await get('/api/v1/audit/export?format=csv', reader);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toMatch(/^seq,at,kind/);
    expect(lines.length).toBe(verify.rowsChecked + 1);
    assertNoCanaries(csv.body, records, 'the audit export');
    const jsonl = await get('/api/v1/audit/export?partner=stripe', reader);
    expect(
      jsonl.body
        .trim()
        .split('\n')
        .every((l) => JSON.parse(l).partner === 'stripe'),
    ).toBe(true);
  });

  it('is not ready once the gateway stopped', async () => {
    await gateway.stop();
    const ready = await server.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().problems).toContain('the gateway is stopped');
  });
});
