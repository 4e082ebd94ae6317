import { describe, expect, it } from 'vitest';
import type { EmulatorRequest } from '../../src/emulator.ts';
import { createIntercomEmulator, INTERCOM_SANDBOX_TOKEN } from './emulator.ts';

const good = { authorization: `Bearer ${INTERCOM_SANDBOX_TOKEN}`, 'intercom-version': '2.14' };
function req(method: string, path: string, body?: unknown, headers: Record<string, string> = good): EmulatorRequest {
  return {
    method,
    path,
    query: new URLSearchParams(),
    headers,
    body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
  };
}

describe('intercom emulator fidelity', () => {
  it('answers 401 in the error.list shape, and 400 without Intercom-Version', async () => {
    const emulator = createIntercomEmulator();
    expect(await emulator.handle(req('GET', '/contacts/1', undefined, { 'intercom-version': '2.14' }))).toMatchObject({
      status: 401,
      body: { type: 'error.list', errors: [{ code: 'unauthorized', message: expect.any(String) }] },
    });
    expect(
      await emulator.handle(req('GET', '/contacts/1', undefined, { authorization: good.authorization })),
    ).toMatchObject({
      status: 400,
      body: { type: 'error.list', errors: [{ code: 'intercom_version_invalid' }] },
    });
  });

  it('409s a duplicate external_id and rejects unknown parameters', async () => {
    const emulator = createIntercomEmulator();
    const first = await emulator.handle(req('POST', '/contacts', { role: 'user', external_id: 'p1' }));
    expect(first).toMatchObject({ status: 200, body: { type: 'contact', external_id: 'p1', role: 'user' } });
    expect(await emulator.handle(req('POST', '/contacts', { role: 'user', external_id: 'p1' }))).toMatchObject({
      status: 409,
      body: { type: 'error.list', errors: [{ code: 'conflict' }] },
    });
    expect(await emulator.handle(req('POST', '/contacts', { role: 'user', customer_id: 'x' }))).toMatchObject({
      status: 400,
      body: { errors: [{ code: 'parameter_invalid' }] },
    });
  });

  it('deletes with the deleted-contact answer, then 404s', async () => {
    const emulator = createIntercomEmulator();
    const { body } = await emulator.handle(
      req('POST', '/contacts', { role: 'user', external_id: 'p1', email: 'a@example.test' }),
    );
    const id = (body as { id: string }).id;
    expect(await emulator.handle(req('GET', '/contacts/find_by_external_id/p1'))).toMatchObject({
      status: 200,
      body: { id },
    });
    expect(await emulator.handle(req('DELETE', `/contacts/${id}`))).toEqual({
      status: 200,
      body: { id, external_id: 'p1', type: 'contact', deleted: true },
    });
    expect(await emulator.handle(req('DELETE', `/contacts/${id}`))).toMatchObject({
      status: 404,
      body: { errors: [{ code: 'not_found' }] },
    });
    expect(emulator.holdings()).toEqual({});
  });

  it('rate-limits with X-RateLimit headers and Retry-After', () => {
    const limited = createIntercomEmulator().rateLimited(4);
    expect(limited).toMatchObject({
      status: 429,
      headers: { 'retry-after': '4', 'x-ratelimit-limit': '1667', 'x-ratelimit-remaining': '0' },
      body: { type: 'error.list', errors: [{ code: 'rate_limit_exceeded' }] },
    });
    expect(Number(limited.headers?.['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
    expect(createIntercomEmulator().limits).toEqual({ window: { ms: 10_000, max: 1667 } });
  });
});
