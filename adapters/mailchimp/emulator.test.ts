import { describe, expect, it } from 'vitest';
import type { EmulatorRequest, EmulatorResponse } from '../../src/emulator.ts';
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
});
