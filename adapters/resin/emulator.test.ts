import { describe, expect, it } from 'vitest';
import type { EmulatorRequest } from '../../src/emulator.ts';
import { createResinEmulator, RESIN_SANDBOX_API_KEY } from './emulator.ts';

function req(method: string, path: string, query = '', body?: unknown, key = RESIN_SANDBOX_API_KEY): EmulatorRequest {
  return {
    method,
    path,
    query: new URLSearchParams(query),
    headers: { authorization: `Bearer ${key}` },
    body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
  };
}

describe('resin emulator fidelity', () => {
  it('answers OData reads in {d:[...]}, honouring $select, and an empty d for a missing id', async () => {
    const emulator = createResinEmulator();
    const dev = emulator.seedDevice({ ip_address: '10.0.0.2', note: 'n' });
    expect(await emulator.handle(req('GET', `/v7/device(${dev.id})`, '$select=id,ip_address'))).toEqual({
      status: 200,
      body: { d: [{ id: dev.id, ip_address: '10.0.0.2' }] },
    });
    expect(await emulator.handle(req('GET', '/v7/device(9)', '$select=id'))).toEqual({ status: 200, body: { d: [] } });
    expect(await emulator.handle(req('GET', '/v7/device', `$filter=id eq ${dev.id}&$select=note`))).toEqual({
      status: 200,
      body: { d: [{ note: 'n' }] },
    });
    expect((await emulator.handle(req('GET', '/v7/device', '$select=nope'))).status).toBe(400);
  });

  it('patches only writable fields and deletes by id filter', async () => {
    const emulator = createResinEmulator();
    const [a, b, c] = [emulator.seedDevice(), emulator.seedDevice(), emulator.seedDevice()];
    expect((await emulator.handle(req('PATCH', `/v7/device(${a.id})`, '', { note: 'kitchen' }))).status).toBe(200);
    expect(emulator.holdings()[String(a.id)]?.personal).toEqual({ note: 'kitchen' });
    expect((await emulator.handle(req('PATCH', `/v7/device(${a.id})`, '', { ip_address: '1.2.3.4' }))).status).toBe(
      400,
    );
    expect((await emulator.handle(req('DELETE', '/v7/device'))).status).toBe(400);
    expect((await emulator.handle(req('DELETE', '/v7/device', `$filter=id in (${a.id}, ${b.id})`))).status).toBe(200);
    expect((await emulator.handle(req('DELETE', '/v7/device', `$filter=id eq ${c.id}`))).status).toBe(200);
    expect(emulator.holdings()).toEqual({});
  });

  it('answers 401 and 429 as balena does: plain text', async () => {
    const emulator = createResinEmulator();
    expect(await emulator.handle(req('GET', '/v7/device', '', undefined, 'wrong'))).toMatchObject({
      status: 401,
      body: 'Unauthorized',
    });
    expect(emulator.rateLimited(5)).toMatchObject({
      status: 429,
      headers: { 'retry-after': '5' },
      body: 'Too Many Requests',
    });
    expect(emulator.limits).toEqual({ perSecond: 10 });
  });
});
