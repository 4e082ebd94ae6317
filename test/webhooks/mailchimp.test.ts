/**
 * Mailchimp's unsubscribe webhook, mounted on a plain node:http server, with the real Mailchimp
 * adapter against its emulator: a member who unsubscribes through the newsletter's own link is a
 * withdrawal in the ledger (source mailchimp), and no resync or change subscribes them again.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAILCHIMP_SANDBOX_API_KEY, MAILCHIMP_SANDBOX_LIST_ID } from '../../adapters/mailchimp/index.ts';
import type { MailchimpEmulator } from '../../adapters/mailchimp/emulator.ts';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import { renderAccessReport } from '../../src/lifecycle/index.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import {
  assertNoCanaries,
  canaryRecord,
  MemorySource,
  startTestPartners,
  type TestPartners,
} from '../../src/testing/index.ts';
import { createMailchimpWebhookHandler, type MailchimpWebhookOptions } from '../../src/webhooks/mailchimp.ts';
import { testDatabase } from '../support/database.ts';
import { testSecrets } from '../support/harness.ts';
import { capturedLogger } from '../support/log-capture.ts';

const policy = loadPolicyFile();
const SECRET = 'whsec-0123456789abcdefghijklmnop';
const record = canaryRecord(1);
const hash = createHash('md5').update(record.email!.toLowerCase()).digest('hex');

let partners: TestPartners;
beforeAll(async () => {
  partners = await startTestPartners({ partners: ['mailchimp'] });
});
afterAll(() => partners.stop());

interface Running {
  gateway: Gateway;
  source: MemorySource;
  url: string;
  logText(): string;
  close(): Promise<void>;
}
let running: Running | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
  partners.reset();
});

async function start(options: Partial<MailchimpWebhookOptions> = {}): Promise<Running> {
  const db = await testDatabase();
  const source = new MemorySource([record]);
  const { logger, text } = capturedLogger();
  const gateway = await createGateway({
    policy,
    database: db,
    adapters: partners.adapters(),
    source,
    secrets: testSecrets,
    logger,
  });
  const server: Server = createServer(
    createMailchimpWebhookHandler({ gateway, logger, secret: SECRET, listId: MAILCHIMP_SANDBOX_LIST_ID, ...options }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  running = {
    gateway,
    source,
    url: `http://127.0.0.1:${port}`,
    logText: text,
    close: async () => {
      await new Promise((resolve) => server.close(resolve));
      await gateway.stop();
      await db.close();
      await db.drop();
    },
  };
  return running;
}

/** A subscribed member: consent granted on our web form, the grant carried to Mailchimp. */
async function subscribed(options: Partial<MailchimpWebhookOptions> = {}): Promise<Running> {
  const r = await start(options);
  await r.gateway.consent.grant(record.id, 'marketing', { source: 'web-form', evidence: 'form:web-1' });
  await r.gateway.runUntilIdle();
  expect(memberStatus()).toBe('subscribed');
  return r;
}

function memberStatus(): unknown {
  return partners.holdings('mailchimp')[hash]?.meta.status;
}

/** What Mailchimp's own unsubscribe link does: the member's status changes at Mailchimp only. */
async function unsubscribeAtMailchimp(): Promise<void> {
  expect(partners.emulator<MailchimpEmulator>('mailchimp').unsubscribeMember(record.email!)).toBe(true);
}

/** A status change made at Mailchimp by someone else than the gateway (its own app, an import). */
async function setStatusAtMailchimp(status: string): Promise<void> {
  const res = await fetch(`${partners.urls.mailchimp}/3.0/lists/${MAILCHIMP_SANDBOX_LIST_ID}/members/${hash}`, {
    method: 'PATCH',
    headers: {
      authorization: `Basic ${Buffer.from(`anystring:${MAILCHIMP_SANDBOX_API_KEY}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ status }),
  });
  expect(res.status).toBe(200);
}

/** The form Mailchimp posts for an unsubscribe (its documented field names). */
function unsubscribeEvent(overrides: Record<string, string> = {}): URLSearchParams {
  return new URLSearchParams({
    type: 'unsubscribe',
    fired_at: '2026-03-10 09:30:00',
    'data[action]': 'unsub',
    'data[reason]': 'manual',
    'data[id]': '8a25ff1d98',
    'data[list_id]': MAILCHIMP_SANDBOX_LIST_ID,
    'data[email]': record.email!,
    'data[email_type]': 'html',
    'data[merges][EMAIL]': record.email!,
    'data[merges][FNAME]': record.name!.given,
    'data[ip_opt]': '198.51.100.7',
    'data[campaign_id]': 'cb398d21d2',
    ...overrides,
  });
}

async function post(r: Running, body: URLSearchParams | string, path = `/hooks/mailchimp/${SECRET}`, type?: string) {
  return fetch(`${r.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': type ?? 'application/x-www-form-urlencoded' },
    body: typeof body === 'string' ? body : body.toString(),
  });
}

async function marketing(r: Running) {
  return (await r.gateway.consent.history(record.id)).filter((e) => e.purpose === 'marketing');
}

describe('a resync reads unsubscribes made at Mailchimp', () => {
  it('records one the webhook never delivered as a withdrawal (source mailchimp), and never re-subscribes', async () => {
    const r = await subscribed();
    await unsubscribeAtMailchimp();
    const dry = await r.gateway.resync({ dryRun: true });
    expect(dry.partnerWithdrawals.mailchimp).toEqual({ unsubscribed: 1, withdrawals: 1 });
    expect((await marketing(r)).map((e) => e.status)).toEqual(['granted']);

    const summary = await r.gateway.resync({ force: true });
    await r.gateway.runUntilIdle();
    expect(summary.partnerWithdrawals.mailchimp).toEqual({ unsubscribed: 1, withdrawals: 1 });
    expect((await marketing(r)).map((e) => [e.status, e.source, e.evidence])).toEqual([
      ['granted', 'web-form', 'form:web-1'],
      ['withdrawn', 'mailchimp', 'mailchimp:unsubscribed-at-partner'],
    ]);
    expect(memberStatus()).toBe('unsubscribed');
    // Later resyncs (forced too) and a record change leave the member unsubscribed, and record nothing twice.
    await r.gateway.resync({ force: true });
    r.source.put({ ...record, name: { given: 'Renamed', family: record.name!.family } });
    await r.gateway.changed(record.id);
    await r.gateway.runUntilIdle();
    expect(memberStatus()).toBe('unsubscribed');
    expect((await marketing(r)).filter((e) => e.status === 'withdrawn')).toHaveLength(1);
    const report = renderAccessReport(await r.gateway.access(record.id), policy, { format: 'md', lang: 'en' });
    expect(report).toMatch(
      /\| Newsletters and marketing \| Withdrawn \| Unsubscribed through the newsletter \(Mailchimp\) \|/,
    );
    assertNoCanaries(r.logText(), [record], 'the ops log');
  });

  it('never takes a grant from Mailchimp, and does not undo a new grant Mailchimp was not told yet', async () => {
    const r = await subscribed();
    await r.gateway.consent.withdraw(record.id, 'marketing', { source: 'web-form', evidence: 'form:web-2' });
    await r.gateway.runUntilIdle();
    // Subscribed again at Mailchimp (an import, a Mailchimp form): no grant in our ledger.
    await setStatusAtMailchimp('subscribed');
    await r.gateway.resync();
    await r.gateway.runUntilIdle();
    expect((await marketing(r)).map((e) => e.status)).toEqual(['granted', 'withdrawn']);

    // Unsubscribed at Mailchimp, then a new grant on our form before Mailchimp heard of it: it stands.
    await setStatusAtMailchimp('unsubscribed');
    await r.gateway.consent.grant(record.id, 'marketing', { source: 'web-form', evidence: 'form:web-3' });
    const summary = await r.gateway.resync();
    await r.gateway.runUntilIdle();
    expect(summary.partnerWithdrawals.mailchimp!.withdrawals).toBe(0);
    expect((await marketing(r)).map((e) => e.status)).toEqual(['granted', 'withdrawn', 'granted']);
    expect(memberStatus()).toBe('subscribed');
  });
});

describe('the Mailchimp unsubscribe webhook', () => {
  it('records an unsubscribe at Mailchimp as a withdrawal, and no resync or change subscribes the member again', async () => {
    const r = await subscribed();
    await unsubscribeAtMailchimp();
    const res = await post(r, unsubscribeEvent());
    expect(res.status).toBe(200);

    const ledger = await marketing(r);
    expect(ledger.map((e) => [e.status, e.source, e.evidence])).toEqual([
      ['granted', 'web-form', 'form:web-1'],
      ['withdrawn', 'mailchimp', 'mailchimp:unsub:campaign-cb398d21d2'],
    ]);
    await r.gateway.runUntilIdle();
    expect(memberStatus()).toBe('unsubscribed');

    // Every way the gateway writes to Mailchimp again: a plain resync, a forced one, a record change.
    await r.gateway.resync();
    await r.gateway.runUntilIdle();
    await r.gateway.resync({ force: true });
    await r.gateway.runUntilIdle();
    r.source.put({ ...record, name: { given: 'Renamed', family: record.name!.family } });
    await r.gateway.changed(record.id);
    await r.gateway.runUntilIdle();
    expect(memberStatus()).toBe('unsubscribed');
    expect((await marketing(r)).at(-1)).toMatchObject({ status: 'withdrawn', source: 'mailchimp' });

    // The subject's access report says so, in words.
    const report = renderAccessReport(await r.gateway.access(record.id), policy, { format: 'md', lang: 'en' });
    expect(report).toMatch(
      /\| Newsletters and marketing \| Withdrawn \| Unsubscribed through the newsletter \(Mailchimp\) \|/,
    );
  });

  it('keeps the grant when the unsubscribe is the gateway’s own, made for a restriction', async () => {
    const r = await subscribed();
    await r.gateway.restrict(record.id, 'objection pending');
    await r.gateway.runUntilIdle();
    expect(memberStatus()).toBe('unsubscribed');
    // Mailchimp reports API changes too when the webhook's api source is on; the resync sees it as well.
    expect((await post(r, unsubscribeEvent({ 'data[campaign_id]': '' }))).status).toBe(200);
    const summary = await r.gateway.resync();
    await r.gateway.runUntilIdle();
    // Nobody Mailchimp could have unsubscribed on its own: it is not even asked.
    expect(summary.partnerWithdrawals.mailchimp).toEqual({ unsubscribed: 0, withdrawals: 0 });
    expect((await marketing(r)).map((e) => e.status)).toEqual(['granted']);
    await r.gateway.unrestrict(record.id);
    await r.gateway.runUntilIdle();
    expect(memberStatus()).toBe('subscribed');
  });

  it('never takes a grant from the partner: a subscribe event changes nothing', async () => {
    const r = await subscribed();
    await post(r, unsubscribeEvent());
    await r.gateway.runUntilIdle();
    const before = await marketing(r);
    const res = await post(r, unsubscribeEvent({ type: 'subscribe' }));
    expect(res.status).toBe(200);
    expect(await marketing(r)).toEqual(before);
    await r.gateway.resync({ force: true });
    await r.gateway.runUntilIdle();
    expect(memberStatus()).toBe('unsubscribed');
  });

  it('records an event Mailchimp delivers twice once', async () => {
    const r = await subscribed();
    expect((await post(r, unsubscribeEvent())).status).toBe(200);
    expect((await post(r, unsubscribeEvent({ 'data[action]': 'delete' }))).status).toBe(200);
    expect((await marketing(r)).filter((e) => e.status === 'withdrawn')).toHaveLength(1);
  });

  it('answers Mailchimp’s GET check, takes the secret in the path or the query, and refuses the rest', async () => {
    const r = await subscribed();
    expect((await fetch(`${r.url}/hooks/mailchimp/${SECRET}`)).status).toBe(200);
    expect((await fetch(`${r.url}/hooks/mailchimp?secret=${SECRET}`)).status).toBe(200);
    expect((await fetch(`${r.url}/hooks/mailchimp/wrong-secret-0123456789abcdef`)).status).toBe(404);
    expect((await fetch(`${r.url}/hooks/mailchimp`)).status).toBe(404);
    expect((await post(r, unsubscribeEvent(), `/hooks/mailchimp/${SECRET.slice(0, -1)}x`)).status).toBe(404);
    expect(
      (await post(r, JSON.stringify({ type: 'unsubscribe' }), `/hooks/mailchimp/${SECRET}`, 'application/json')).status,
    ).toBe(415);
    expect((await post(r, `type=unsubscribe&data[email]=${'a'.repeat(70_000)}`)).status).toBe(413);
    expect((await post(r, unsubscribeEvent({ 'data[list_id]': 'otherlist1' }))).status).toBe(200);
    expect((await post(r, unsubscribeEvent({ 'data[email]': 'someone-else@example.test' }))).status).toBe(200);
    expect(
      (await post(r, new URLSearchParams({ type: 'unsubscribe', 'data[list_id]': MAILCHIMP_SANDBOX_LIST_ID }))).status,
    ).toBe(400);
    expect((await fetch(`${r.url}/hooks/mailchimp/${SECRET}`, { method: 'PUT' })).status).toBe(405);
    // None of it reached the ledger.
    expect((await marketing(r)).map((e) => e.status)).toEqual(['granted']);
    expect((await post(r, unsubscribeEvent(), `/hooks/mailchimp?secret=${SECRET}`)).status).toBe(200);
    expect((await marketing(r)).map((e) => e.status)).toEqual(['granted', 'withdrawn']);
  });

  it('accepts only the source ranges it is given', async () => {
    const r = await subscribed({ allowedSources: ['203.0.113.0/24', '2001:db8::/32'] });
    expect((await post(r, unsubscribeEvent())).status).toBe(403);
    expect((await marketing(r)).map((e) => e.status)).toEqual(['granted']);
    await running!.close();
    running = undefined;
    partners.reset();
    const local = await subscribed({ allowedSources: ['127.0.0.0/8'] });
    expect((await post(local, unsubscribeEvent())).status).toBe(200);
    expect(() =>
      createMailchimpWebhookHandler({ gateway: local.gateway, secret: SECRET, allowedSources: ['not-a-range'] }),
    ).toThrow('allowedSources: "not-a-range" is not an address range (CIDR)');
    expect(() => createMailchimpWebhookHandler({ gateway: local.gateway, secret: 'short' })).toThrow(
      /secret must be at least 24 URL-safe characters/,
    );
    expect(() => createMailchimpWebhookHandler({ gateway: local.gateway, secret: SECRET, partner: 'stripe' })).toThrow(
      'partner stripe does not rest on consent in the policy',
    );
  });

  it('stores, logs and echoes neither the address nor its hash', async () => {
    const r = await subscribed();
    await post(r, unsubscribeEvent());
    await post(r, unsubscribeEvent({ 'data[email]': 'someone-else@example.test' }));
    await r.gateway.runUntilIdle();
    await r.gateway.audit.seal();
    const ledger = await r.gateway.database.query<{ t: string }>(
      `select coalesce(string_agg(x::text, E'\\n'), '') as t from consent_ledger x`,
    );
    const events = await r.gateway.database.query<{ t: string }>(
      `select coalesce(string_agg(x::text, E'\\n'), '') as t from transfer_log x where kind = 'event'`,
    );
    for (const [where, text] of [
      ['the ops log', r.logText()],
      ['the consent ledger', ledger[0]!.t],
      ['the log events', events[0]!.t],
    ] as const) {
      assertNoCanaries(text, [record], where);
      expect(text, where).not.toContain('someone-else@example.test');
      expect(text, where).not.toContain('198.51.100.7');
    }
    expect(r.logText()).not.toContain(hash);
    expect(ledger[0]!.t).not.toContain(hash);
  });
});
