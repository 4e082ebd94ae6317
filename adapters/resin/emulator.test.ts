import { describe, expect, it } from 'vitest';
import type { EmulatorRequest } from '../../src/emulator.ts';
import { errorFormatProblems } from '../../test/spec/error-format.ts';
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

  it('answers 401 as pinejs does, with no body; 429 in plain text', async () => {
    const emulator = createResinEmulator();
    const denied = await emulator.handle(req('GET', '/v7/device', '', undefined, 'wrong'));
    expect(denied).toEqual({ status: 401 });
    expect(errorFormatProblems('resin', denied)).toEqual([]);
    expect(emulator.rateLimited(5)).toMatchObject({
      status: 429,
      headers: { 'retry-after': '5' },
      body: 'Too Many Requests',
    });
    expect(emulator.limits).toEqual({ perSecond: 10 });
  });

  describe('answers as pinejs does (test/fixtures/partner-specs/resin.json)', () => {
    it('errors are the reason as a JSON string, successful deletes and patches have no body', async () => {
      const emulator = createResinEmulator();
      const bad = await emulator.handle(req('GET', '/v7/device', '$select=nope'));
      expect(bad).toMatchObject({
        status: 400,
        headers: { 'content-type': expect.stringMatching(/^application\/json/) },
      });
      expect(JSON.parse(bad.body as string)).toBe('Bad Request');
      expect(errorFormatProblems('resin', bad)).toEqual([]);
      const dev = emulator.seedDevice();
      expect(await emulator.handle(req('PATCH', `/v7/device(${dev.id})`, '', { note: 'n' }))).toEqual({ status: 200 });
      expect(await emulator.handle(req('DELETE', '/v7/device', `$filter=id eq ${dev.id}`))).toEqual({ status: 200 });
    });

    it('$select takes every field of the device model, and the location fields are held', async () => {
      const emulator = createResinEmulator();
      const dev = emulator.seedDevice({ custom_latitude: '59.3', custom_longitude: '18.0', location: 'Stockholm' });
      const read = await emulator.handle(
        req(
          'GET',
          '/v7/device',
          `$filter=id eq ${dev.id}&$select=id,location,custom_latitude,custom_longitude,os_version`,
        ),
      );
      expect(read).toEqual({
        status: 200,
        body: {
          d: [
            { id: dev.id, location: 'Stockholm', custom_latitude: '59.3', custom_longitude: '18.0', os_version: null },
          ],
        },
      });
      expect(emulator.holdings()[String(dev.id)]?.personal).toEqual({
        'location.custom': { latitude: '59.3', longitude: '18.0' },
        'location.place': 'Stockholm',
      });
    });
  });
});
