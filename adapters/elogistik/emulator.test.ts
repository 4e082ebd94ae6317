import { describe, expect, it } from 'vitest';
import type { EmulatorRequest } from '../../src/emulator.ts';
import { createElogistikEmulator, ELOGISTIK_SANDBOX_TOKEN } from './emulator.ts';

const address = { street: 'Storgatan 1', postalCode: '11122', city: 'Stockholm', country: 'SE' };
function req(method: string, path: string, body?: unknown, token = ELOGISTIK_SANDBOX_TOKEN): EmulatorRequest {
  return {
    method,
    path,
    query: new URLSearchParams(),
    headers: { authorization: `Bearer ${token}` },
    body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
  };
}

describe('elogistik emulator fidelity (partner-apis.md contract)', () => {
  it('PUT answers 201 then 200; GET 200|404; DELETE 204|404', async () => {
    const e = createElogistikEmulator();
    expect((await e.handle(req('PUT', '/v1/customers/r1', { name: 'A B', address }))).status).toBe(201);
    expect(
      (await e.handle(req('PUT', '/v1/customers/r1', { name: 'A C', address, email: 'a@example.test' }))).status,
    ).toBe(200);
    expect(await e.handle(req('GET', '/v1/customers/r1'))).toMatchObject({
      status: 200,
      body: { ref: 'r1', name: 'A C', address, email: 'a@example.test' },
    });
    expect((await e.handle(req('DELETE', '/v1/customers/r1'))).status).toBe(204);
    expect((await e.handle(req('DELETE', '/v1/customers/r1'))).status).toBe(404);
    expect((await e.handle(req('GET', '/v1/customers/r1'))).status).toBe(404);
  });

  it('400s unknown and missing fields, naming fields and never values', async () => {
    const e = createElogistikEmulator();
    const res = await e.handle(
      req('PUT', '/v1/customers/r1', {
        name: 'A B',
        address: { ...address, zip: '1', city: undefined },
        customerId: 42,
      }),
    );
    expect(res).toEqual({
      status: 400,
      body: {
        code: 'invalid_body',
        message: expect.any(String),
        fields: expect.arrayContaining(['customerId', 'address.zip', 'address.city']),
      },
    });
    expect(await e.handle(req('PUT', '/v1/customers/r1', { email: 'x@example.test' }))).toMatchObject({
      status: 400,
      body: { fields: ['name', 'address'] },
    });
    expect(await e.handle(req('PUT', '/v1/customers/r1', { name: 'A B', address, phone: 46701230000 }))).toMatchObject({
      status: 400,
      body: { fields: ['phone'] },
    });
    expect(e.holdings()).toEqual({});
  });

  it('401 without the bearer token; 429 with Retry-After; 50 requests/s', async () => {
    const e = createElogistikEmulator();
    expect(await e.handle(req('GET', '/v1/customers/r1', undefined, 'wrong'))).toMatchObject({
      status: 401,
      body: { code: 'unauthorized' },
    });
    expect(e.rateLimited(3)).toMatchObject({
      status: 429,
      headers: { 'retry-after': '3' },
      body: { code: 'rate_limited' },
    });
    expect(e.limits).toEqual({ perSecond: 50 });
  });
});
