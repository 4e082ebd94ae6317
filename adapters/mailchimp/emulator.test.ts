import { describe, expect, it } from 'vitest';
import type { EmulatorRequest, EmulatorResponse } from '../../src/emulator.ts';
import { errorFormatProblems } from '../../test/spec/error-format.ts';
import { subscriberHash } from './adapter.ts';
import {
  MAILCHIMP_SANDBOX_API_KEY as KEY,
  MAILCHIMP_SANDBOX_LIST_ID as LIST,
  createMailchimpEmulator,
} from './emulator.ts';

const AUTH = `Basic ${Buffer.from(`anyone:${KEY}`).toString('base64')}`;
const EMAIL = 'Someone@Example.test';
const HASH = subscriberHash(EMAIL);

function request(
  method: string,
  path: string,
  body?: unknown,
  authorization: string | undefined = AUTH,
): EmulatorRequest {
  return {
    method,
    path,
    query: new URLSearchParams(),
    headers: authorization ? { authorization } : {},
    body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
  };
}

async function send(emulator: ReturnType<typeof createMailchimpEmulator>, ...args: Parameters<typeof request>) {
  return (await emulator.handle(request(...args))) as EmulatorResponse & { body: Record<string, unknown> };
}

const member = (hash = HASH) => `/3.0/lists/${LIST}/members/${hash}`;

describe('mailchimp emulator', () => {
  it('answers errors as problem JSON', async () => {
    const res = await send(createMailchimpEmulator(), 'GET', member());
    expect(res.status).toBe(404);
    expect(res.headers?.['content-type']).toMatch(/^application\/problem\+json/);
    expect(Object.keys(res.body).sort()).toEqual(['detail', 'instance', 'status', 'title', 'type']);
    expect(res.body).toMatchObject({ title: 'Resource Not Found', status: 404 });
  });

  it('needs Basic auth with the API key, any user name', async () => {
    const emulator = createMailchimpEmulator();
    expect((await send(emulator, 'GET', member(), undefined, '')).body.title).toBe('API Key Missing');
    const wrong = `Basic ${Buffer.from('anyone:nope').toString('base64')}`;
    expect(await send(emulator, 'GET', member(), undefined, wrong)).toMatchObject({
      status: 401,
      body: { title: 'API Key Invalid' },
    });
  });

  it('creates only at the hash of the lowercased address, and only with a status', async () => {
    const emulator = createMailchimpEmulator();
    const mismatch = await send(emulator, 'PUT', member(subscriberHash('other@example.test')), {
      email_address: EMAIL,
      status_if_new: 'subscribed',
    });
    expect(mismatch).toMatchObject({ status: 400, body: { title: 'Invalid Resource' } });
    expect(await send(emulator, 'PUT', member(), { email_address: EMAIL })).toMatchObject({ status: 400 });
    const created = await send(emulator, 'PUT', member(), {
      email_address: EMAIL,
      status_if_new: 'pending',
      merge_fields: { FNAME: 'A' },
    });
    expect(created).toMatchObject({
      status: 200,
      body: { id: HASH, status: 'pending', merge_fields: { FNAME: 'A', LNAME: '' } },
    });
    // The address itself is accepted in place of its hash.
    expect(await send(emulator, 'GET', `/3.0/lists/${LIST}/members/${encodeURIComponent(EMAIL)}`)).toMatchObject({
      status: 200,
    });
    expect(emulator.holdings()).toEqual({
      [HASH]: { personal: { email: EMAIL, 'name.given': 'A' }, meta: expect.objectContaining({ status: 'pending' }) },
    });
  });

  it('does not let a permanently deleted address back in, by PUT or by batch', async () => {
    const emulator = createMailchimpEmulator();
    await send(emulator, 'PUT', member(), { email_address: EMAIL, status_if_new: 'subscribed' });
    expect((await send(emulator, 'POST', `${member()}/actions/delete-permanent`)).status).toBe(204);
    expect((await send(emulator, 'POST', `${member()}/actions/delete-permanent`)).status).toBe(404);
    const again = await send(emulator, 'PUT', member(), { email_address: EMAIL, status_if_new: 'subscribed' });
    expect(again).toMatchObject({ status: 400, body: { title: 'Forgotten Email Not Subscribed' } });
    const batch = await send(emulator, 'POST', `/3.0/lists/${LIST}`, {
      members: [{ email_address: EMAIL, status: 'subscribed' }],
    });
    expect(batch.body).toMatchObject({ new_members: [], error_count: 1 });
  });

  it('batch: a status per member, at most 500, existing members only with update_existing', async () => {
    const emulator = createMailchimpEmulator();
    const path = `/3.0/lists/${LIST}`;
    const tooMany = Array.from({ length: 501 }, (_, i) => ({
      email_address: `m${i}@example.test`,
      status: 'subscribed',
    }));
    expect(await send(emulator, 'POST', path, { members: tooMany })).toMatchObject({ status: 400 });

    const first = await send(emulator, 'POST', path, {
      members: [{ email_address: EMAIL, status: 'subscribed' }, { email_address: 'nostatus@example.test' }],
    });
    expect(first.body).toMatchObject({ total_created: 1, total_updated: 0, error_count: 1 });

    const again = await send(emulator, 'POST', path, { members: [{ email_address: EMAIL, status: 'unsubscribed' }] });
    expect(again.body).toMatchObject({ error_count: 1, errors: [{ error_code: 'ERROR_CONTACT_EXISTS' }] });

    const updated = await send(emulator, 'POST', path, {
      members: [{ email_address: EMAIL, status: 'unsubscribed' }],
      update_existing: true,
    });
    expect(updated.body).toMatchObject({ total_updated: 1, updated_members: [{ id: HASH, status: 'unsubscribed' }] });
  });

  it('archives on DELETE and keeps the data', async () => {
    const emulator = createMailchimpEmulator();
    await send(emulator, 'PUT', member(), { email_address: EMAIL, status_if_new: 'subscribed' });
    expect((await send(emulator, 'DELETE', member())).status).toBe(204);
    expect((await send(emulator, 'DELETE', member())).status).toBe(404);
    expect(emulator.holdings()[HASH]).toMatchObject({ personal: { email: EMAIL }, meta: { status: 'archived' } });
  });

  it('rate limit: 10 connections, and the real 429 shape', () => {
    const emulator = createMailchimpEmulator();
    expect(emulator.limits).toEqual({ maxConcurrent: 10 });
    const res = emulator.rateLimited(5);
    expect(res).toMatchObject({
      status: 429,
      headers: { 'Retry-After': '5' },
      body: { title: 'Too Many Requests', status: 429 },
    });
  });

  it('unknown lists and routes are 404, wrong methods 405', async () => {
    const emulator = createMailchimpEmulator();
    expect((await send(emulator, 'GET', `/3.0/lists/nolist/members/${HASH}`)).status).toBe(404);
    expect((await send(emulator, 'GET', '/3.0/campaigns')).status).toBe(404);
    expect((await send(emulator, 'GET', `/3.0/lists/${LIST}`)).status).toBe(405);
  });

  describe('refuses what the spec refuses (test/fixtures/partner-specs/mailchimp.json)', () => {
    const refused = (res: EmulatorResponse & { body: Record<string, unknown> }, field: string) => {
      expect(res).toMatchObject({ status: 400, body: { title: 'Invalid Resource', errors: [{ field }] } });
      expect(errorFormatProblems('mailchimp', res)).toEqual([]);
    };
    const subscribed = async () => {
      const emulator = createMailchimpEmulator();
      await send(emulator, 'PUT', member(), {
        email_address: EMAIL,
        status: 'subscribed',
        merge_fields: { FNAME: 'A' },
      });
      return emulator;
    };

    it('PUT without status or status_if_new, even to an existing member (the oneOf needs one)', async () => {
      const emulator = await subscribed();
      refused(
        await send(emulator, 'PUT', member(), { email_address: EMAIL, merge_fields: { FNAME: 'B' } }),
        'status_if_new',
      );
      expect(emulator.holdings()[HASH]?.personal['name.given']).toBe('A');
    });

    it('PUT with both status and status_if_new (it would match both schemas of the oneOf)', async () => {
      const emulator = await subscribed();
      const both = { email_address: EMAIL, status: 'unsubscribed', status_if_new: 'unsubscribed' };
      refused(await send(emulator, 'PUT', member(), both), 'status');
      expect(emulator.holdings()[HASH]?.meta.status).toBe('subscribed');
    });

    it('PUT: status_if_new leaves an existing member alone; status writes over it', async () => {
      const emulator = await subscribed();
      await send(emulator, 'PUT', member(), { email_address: EMAIL, status_if_new: 'unsubscribed' });
      expect(emulator.holdings()[HASH]?.meta.status).toBe('subscribed');
      await send(emulator, 'PUT', member(), { email_address: EMAIL, status: 'unsubscribed' });
      expect(emulator.holdings()[HASH]?.meta.status).toBe('unsubscribed');
    });

    it('PUT without email_address, or fields of the wrong type', async () => {
      const emulator = createMailchimpEmulator();
      refused(await send(emulator, 'PUT', member(), { status_if_new: 'subscribed' }), 'email_address');
      refused(await send(emulator, 'PUT', member(), { email_address: EMAIL, status: 'subscribed', vip: 'yes' }), 'vip');
      expect(emulator.holdings()).toEqual({});
    });

    it('PATCH to transactional (PATCH status excludes it), or with status_if_new', async () => {
      const emulator = await subscribed();
      refused(await send(emulator, 'PATCH', member(), { status: 'transactional' }), 'status');
      refused(await send(emulator, 'PATCH', member(), { status_if_new: 'pending' }), 'status_if_new');
      expect(emulator.holdings()[HASH]?.meta.status).toBe('subscribed');
      expect(await send(emulator, 'PATCH', member(), { status: 'unsubscribed' })).toMatchObject({ status: 200 });
      expect(emulator.holdings()[HASH]?.meta.status).toBe('unsubscribed');
    });

    it('batch: a member with only status_if_new is allowed (anyOf), and it does not touch an existing status', async () => {
      const emulator = await subscribed();
      const other = 'other@example.test';
      const res = await send(emulator, 'POST', `/3.0/lists/${LIST}`, {
        members: [
          { email_address: EMAIL, status_if_new: 'unsubscribed', status: null },
          { email_address: other, status_if_new: 'transactional' },
        ],
        update_existing: true,
      });
      expect(res.body).toMatchObject({ total_created: 1, total_updated: 1, error_count: 0 });
      expect(emulator.holdings()[HASH]?.meta.status).toBe('subscribed');
      expect(emulator.holdings()[subscriberHash(other)]?.meta.status).toBe('transactional');
    });

    it('batch: a member with neither status is refused by name of the field, the rest go in', async () => {
      const emulator = createMailchimpEmulator();
      const res = await send(emulator, 'POST', `/3.0/lists/${LIST}`, {
        members: [{ email_address: EMAIL }, { email_address: 'ok@example.test', status: 'subscribed' }],
      });
      expect(res.body).toMatchObject({ total_created: 1, error_count: 1, errors: [{ field: 'status' }] });
    });
  });
});

describe('mailchimp emulator: list members', () => {
  const list = async (emulator: ReturnType<typeof createMailchimpEmulator>, query: Record<string, string>) =>
    (await emulator.handle({
      ...request('GET', `/3.0/lists/${LIST}/members`),
      query: new URLSearchParams(query),
    })) as EmulatorResponse & { body: Record<string, unknown> };

  it('filters by status and since_last_changed, pages, and keeps only the fields asked for', async () => {
    const emulator = createMailchimpEmulator();
    for (const email of ['a@example.test', 'b@example.test', 'c@example.test'])
      await send(emulator, 'PUT', member(subscriberHash(email)), { email_address: email, status: 'subscribed' });
    // What the newsletter's own unsubscribe link does.
    expect(emulator.unsubscribeMember('B@example.test')).toBe(true);
    expect(emulator.unsubscribeMember('nobody@example.test')).toBe(false);
    const fields = 'members.id,total_items';
    expect((await list(emulator, { status: 'unsubscribed', fields })).body).toEqual({
      members: [{ id: subscriberHash('b@example.test') }],
      total_items: 1,
    });
    const later = new Date(Date.now() + 60_000).toISOString();
    expect((await list(emulator, { status: 'unsubscribed', since_last_changed: later, fields })).body).toEqual({
      members: [],
      total_items: 0,
    });
    const page = await list(emulator, { status: 'subscribed', count: '1', offset: '1', fields });
    expect(page.body).toEqual({ members: [{ id: expect.any(String) }], total_items: 2 });
  });

  it('refuses a count over 1000, an unknown status and a date it cannot read, like Mailchimp', async () => {
    const emulator = createMailchimpEmulator();
    const queries: Record<string, string>[] = [
      { count: '1001' },
      { status: 'gone' },
      { since_last_changed: 'yesterday' },
    ];
    for (const query of queries) {
      const res = await list(emulator, query);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ title: 'Invalid Resource' });
    }
  });
});
