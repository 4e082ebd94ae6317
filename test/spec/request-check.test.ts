import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorRequest } from '../../src/emulator.ts';
import { subscriberHash } from '../../adapters/mailchimp/adapter.ts';
import { startTestPartners, type TestPartners } from '../../src/testing/index.ts';
import { checkRequest } from './request-check.ts';
import { formatViolations, installSpecCheck } from './spec-check.ts';

const CANARY = 'canary-spec-7f3a';

function request(
  method: string,
  path: string,
  body: unknown = undefined,
  { query = '', type = 'application/json', auth = 'Bearer t', headers = {} as Record<string, string> } = {},
): EmulatorRequest {
  const text =
    body === undefined
      ? ''
      : type === 'application/json'
        ? JSON.stringify(body)
        : new URLSearchParams(body as Record<string, string>).toString();
  return {
    method,
    path,
    query: new URLSearchParams(query),
    headers: {
      ...(body === undefined ? {} : { 'content-type': type }),
      ...(auth ? { authorization: auth } : {}),
      ...headers,
    },
    body: Buffer.from(text),
  };
}

const problems = (partner: string, req: EmulatorRequest) =>
  checkRequest(partner, req).violations.map((v) => `${v.where} ${v.problem}`);

const FORM = 'application/x-www-form-urlencoded';
const MEMBER = '/3.0/lists/l1/members/0123456789abcdef0123456789abcdef';
const SID = `AC${'0'.repeat(32)}`;

describe('spec check: what conforms', () => {
  it.each([
    [
      'mailchimp',
      request('PUT', MEMBER, { email_address: CANARY, status_if_new: 'unsubscribed' }, { auth: 'Basic x' }),
    ],
    [
      'mailchimp',
      request(
        'PUT',
        MEMBER,
        { email_address: CANARY, status: 'subscribed', merge_fields: { FNAME: '' } },
        { auth: 'Basic x' },
      ),
    ],
    [
      'mailchimp',
      request(
        'POST',
        '/3.0/lists/l1',
        { members: [{ email_address: CANARY, status_if_new: 'subscribed' }] },
        { auth: 'Basic x' },
      ),
    ],
    ['stripe', request('POST', '/v1/customers', { name: CANARY, 'metadata[pseudonym]': 'p' }, { type: FORM })],
    ['stripe', request('POST', '/v1/customers/cus_1', { name: '', address: '' }, { type: FORM })],
    ['stripe', request('GET', '/v1/customers/cus_1')],
    [
      'intercom',
      request('PUT', '/contacts/abc', { external_id: 'p', phone: null }, { headers: { 'intercom-version': '2.14' } }),
    ],
    [
      'twilio',
      request(
        'POST',
        `/2010-04-01/Accounts/${SID}/Calls.json`,
        { To: '+46701234567', From: '+15005550006', Twiml: '<Response><Say>x</Say></Response>' },
        { type: FORM, auth: 'Basic x' },
      ),
    ],
    [
      'twilio',
      request('GET', `/2010-04-01/Accounts/${SID}/Calls.json`, undefined, {
        query: 'To=%2B46701234567&PageSize=20',
        auth: 'Basic x',
      }),
    ],
    [
      'auth0',
      request(
        'POST',
        '/oauth/token',
        { grant_type: 'client_credentials', client_id: 'c', client_secret: 's', audience: 'https://t/api/v2/' },
        { auth: '' },
      ),
    ],
    ['auth0', request('GET', '/api/v2/users-by-email', undefined, { query: `email=${CANARY}` })],
    ['resin', request('GET', '/v7/device', undefined, { query: '$filter=id in (1,2)&$select=id,ip_address' })],
    [
      'elogistik',
      request('PUT', '/v1/customers/p', {
        name: 'n',
        address: { street: 's', postalCode: '1', city: 'c', country: 'SE' },
      }),
    ],
  ])('%s %#', (partner, req) => {
    expect(problems(partner, req)).toEqual([]);
  });

  it("leaves partners without an extract alone (a test's fake partner)", () => {
    expect(checkRequest('kv', request('GET', '/anything'))).toEqual({ violations: [] });
  });
});

describe('spec check: what it refuses', () => {
  it('a body field the spec does not define, at any depth, in JSON and in forms', () => {
    const header = { headers: { 'intercom-version': '2.14' } };
    expect(
      problems('intercom', request('PUT', '/contacts/abc', { external_id: 'p', nickname: CANARY }, header)),
    ).toEqual(['body (root): nickname is not defined']);
    expect(
      problems('stripe', request('POST', '/v1/customers', { name: 'n', nickname: CANARY }, { type: FORM })),
    ).toEqual(['body (root): nickname is not defined']);
    expect(
      problems('stripe', request('POST', '/v1/customers', { 'address[street]': CANARY }, { type: FORM })),
    ).toContain('body /address: street is not defined');
    const twilio = { To: '+46701234567', From: '+15005550006', Url: 'https://example.test/t', Nickname: CANARY };
    expect(
      problems(
        'twilio',
        request('POST', `/2010-04-01/Accounts/${SID}/Calls.json`, twilio, { type: FORM, auth: 'Basic x' }),
      ),
    ).toEqual(['body (root): Nickname is not defined']);
    const elogistik = { name: 'n', address: { street: 's', postalCode: '1', city: 'c', country: 'SE', floor: CANARY } };
    expect(problems('elogistik', request('PUT', '/v1/customers/p', elogistik))).toEqual([
      'body /address: floor is not defined',
    ]);
  });

  it("Mailchimp's member PUT: neither status field, or both (the oneOf takes exactly one)", () => {
    const put = (body: object) => problems('mailchimp', request('PUT', MEMBER, body, { auth: 'Basic x' }));
    expect(put({ email_address: CANARY })).toContain(
      'body (root): must match exactly one of New Member with status_if_new | Existing Member with status; matched none',
    );
    expect(put({ email_address: CANARY, status: 'subscribed', status_if_new: 'subscribed' })).toEqual([
      'body (root): must match exactly one of New Member with status_if_new | Existing Member with status; matched New Member with status_if_new and Existing Member with status',
    ]);
    expect(problems('mailchimp', request('PATCH', MEMBER, { status: 'transactional' }, { auth: 'Basic x' }))).toEqual([
      'body /status: must be one of ["subscribed","unsubscribed","cleaned","pending"]',
    ]);
  });

  it('query parameters, OData fields, path formats, headers, auth schemes, routes and bodies where none belong', () => {
    expect(
      problems('auth0', request('GET', '/api/v2/users-by-email', undefined, { query: `email=x&nick=${CANARY}` })),
    ).toEqual(['query (root): nick is not defined']);
    expect(problems('auth0', request('GET', '/api/v2/users-by-email'))).toEqual(['query (root): email is required']);
    expect(
      problems(
        'resin',
        request('GET', '/v7/device', undefined, { query: '$select=id,owner_email&$filter=nickname eq 1' }),
      ),
    ).toEqual([
      'query $select names owner_email, not a field of the resource',
      'query $filter names nickname, not a field of the resource',
    ]);
    expect(
      problems(
        'twilio',
        request('DELETE', `/2010-04-01/Accounts/${SID}/Calls/CA12.json`, undefined, { auth: 'Basic x' }),
      ),
    ).toEqual([
      'path /Sid: must NOT have fewer than 34 characters',
      'path /Sid: must match pattern "^CA[0-9a-fA-F]{32}$"',
    ]);
    expect(
      problems('intercom', request('GET', '/contacts/abc', undefined, { headers: { 'intercom-version': '9.9' } })),
    ).toEqual([expect.stringMatching(/^header \/intercom-version: must be one of \["1\.0",/)]);
    expect(problems('twilio', request('GET', `/2010-04-01/Accounts/${SID}/Calls.json`))).toEqual([
      'auth scheme bearer is not one the spec names (basic)',
    ]);
    expect(problems('stripe', request('GET', '/v1/customers'))).toEqual([
      'route no operation of the spec has this method and path',
    ]);
    expect(
      problems(
        'intercom',
        request('GET', '/contacts/abc', { email: CANARY }, { headers: { 'intercom-version': '2.14' } }),
      ),
    ).toEqual(['body a body was sent, but the operation takes none']);
  });

  it('names partner, operation, place and field, never a value', () => {
    const found = checkRequest(
      'intercom',
      request('PUT', `/contacts/${CANARY}`, { email: null, [`x${CANARY}`]: 1 }),
    ).violations;
    const text = formatViolations(found);
    expect(text).toContain('intercom PUT /contacts/{contact_id} [body] /email: must be string');
    // The unknown field's name came from the request too, but values never: the canary id in the path is not there.
    expect(text.replaceAll(`x${CANARY}`, '')).not.toContain(CANARY);
  });
});

describe('spec check: through the emulators, in every test', () => {
  let partners: TestPartners;
  beforeAll(async () => {
    partners = await startTestPartners({ partners: ['mailchimp'] });
  });
  afterAll(() => partners.stop());

  it('an adapter that sends a field Mailchimp never defined fails the check, though Mailchimp itself takes it', async () => {
    const check = installSpecCheck();
    check.take();
    const auth = `Basic ${Buffer.from('any:sandbox0000000000000000000000000-us1').toString('base64')}`;
    const email = `${CANARY}@example.test`;
    const res = await fetch(`${partners.urls.mailchimp}/3.0/lists/sbx0list01/members/${subscriberHash(email)}`, {
      method: 'PUT',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ email_address: email, status: 'subscribed', nickname: CANARY }),
    });
    expect(res.status).toBe(200);
    expect(Object.keys(partners.holdings('mailchimp'))).toEqual([subscriberHash(email)]);
    let failure: unknown;
    try {
      check.assertConforming();
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toContain(
      'mailchimp PUT /3.0/lists/{list_id}/members/{subscriber_hash} [body] (root): nickname is not defined',
    );
    expect((failure as Error).message).not.toContain(`${CANARY}@`);
    expect(check.seen()).toContain('mailchimp PUT /3.0/lists/{list_id}/members/{subscriber_hash}');
  });

  it('a request the emulator refused as invalid is not held against the test: that refusal is what it sees', async () => {
    const check = installSpecCheck();
    check.take();
    const auth = `Basic ${Buffer.from('any:sandbox0000000000000000000000000-us1').toString('base64')}`;
    const email = `${CANARY}@example.test`;
    const res = await fetch(`${partners.urls.mailchimp}/3.0/lists/sbx0list01/members/${subscriberHash(email)}`, {
      method: 'PUT',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ email_address: email }),
    });
    expect(res.status).toBe(400);
    expect(check.take()).toEqual([]);
  });
});
