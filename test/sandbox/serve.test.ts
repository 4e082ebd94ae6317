import { describe, expect, it } from 'vitest';
import type { EmulatorResponse } from '../../src/emulator.ts';
import { serveEmulator } from '../../src/sandbox/serve.ts';
import { FakeKvEmulator } from './fake-emulator.ts';
import { call } from './http.ts';

describe('serveEmulator', () => {
  it('serves one emulator on loopback, as before', async () => {
    const emulator = new FakeKvEmulator();
    const served = await serveEmulator(emulator);
    try {
      expect(served.partner).toBe('kv');
      expect(served.emulator).toBe(emulator);
      expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await call(`${served.url}/kv/a`, { method: 'PUT', body: { email: 'a@example.com' } })).status).toBe(201);
      const reply = await call(`${served.url}/kv/a`);
      expect(reply.json()).toEqual({ key: 'a', email: 'a@example.com' });
      expect(reply.headers['content-type']).toBe('application/json');
    } finally {
      await served.close();
    }
  });

  it('answers 500 when the emulator throws', async () => {
    const emulator = new FakeKvEmulator();
    emulator.handle = async (): Promise<EmulatorResponse> => {
      throw new Error('boom');
    };
    const served = await serveEmulator(emulator);
    try {
      expect((await call(`${served.url}/kv/a`)).status).toBe(500);
    } finally {
      await served.close();
    }
  });

  it('takes a handle option that can drop the socket', async () => {
    const served = await serveEmulator(new FakeKvEmulator(), 0, { handle: async () => ({ kind: 'drop' }) });
    try {
      await expect(call(`${served.url}/kv/a`)).rejects.toMatchObject({ code: 'ECONNRESET' });
    } finally {
      await served.close();
    }
  });
});
