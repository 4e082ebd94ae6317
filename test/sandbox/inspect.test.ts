import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { Holding } from '../../src/emulator.ts';
import type { PartnerInfo } from '../../src/sandbox/inspect.ts';
import type { RequestLogEntry } from '../../src/sandbox/request-log.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.ts';
import type { PartnerStats } from '../../src/sandbox/stats.ts';
import { FakeKvEmulator } from './fake-emulator.ts';
import { call } from './http.ts';

let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

async function started(options: Partial<Parameters<typeof startSandbox>[0]> = {}): Promise<Sandbox> {
  sandbox = await startSandbox({
    emulators: [new FakeKvEmulator({ limits: { perSecond: 100, window: { ms: 10_000, max: 1_000 } } })],
    ...options,
  });
  return sandbox;
}

describe('sandbox inspection', () => {
  it('GET /partners lists each partner with url, limits and counts', async () => {
    const box = await started({ limits: true });
    await call(`${box.url('kv')}/kv/a`, { method: 'PUT', body: { email: 'a@example.com' } });
    const reply = await call(`${box.inspectUrl}/partners`);
    expect(reply.status).toBe(200);
    expect(reply.json<PartnerInfo[]>()).toEqual([
      {
        partner: 'kv',
        url: box.urls.kv,
        limits: { perSecond: 100, window: { ms: 10_000, max: 1_000 }, counts: 'all' },
        limitsEnforced: true,
        faults: {},
        counts: { requests: 1, inFlight: 0, holdings: 1 },
      },
    ]);
    expect(box.partners()).toEqual(reply.json());
  });

  it('GET /partners/{p}/holdings is the emulator holdings()', async () => {
    const box = await started();
    await call(`${box.url('kv')}/kv/a`, { method: 'PUT', body: { email: 'a@example.com' } });
    const reply = await call(`${box.inspectUrl}/partners/kv/holdings`);
    expect(reply.json<Record<string, Holding>>()).toEqual({
      a: { personal: { email: 'a@example.com' }, meta: { version: 1 } },
    });
    expect(box.holdings('kv')).toEqual(reply.json());
    expect((await call(`${box.inspectUrl}/partners/nobody/holdings`)).status).toBe(404);
  });

  it('GET /partners/{p}/requests is the log, filtered by ?since= (a seq or a time)', async () => {
    const box = await started();
    await call(`${box.url('kv')}/kv/a`, { method: 'PUT', body: { email: 'a@example.com' } });
    await call(`${box.url('kv')}/kv/a?verbose=1`);
    await call(`${box.url('kv')}/kv/a`, { method: 'DELETE' });
    const log = (await call(`${box.inspectUrl}/partners/kv/requests`)).json<RequestLogEntry[]>();
    expect(log.map(({ method, path, status, queryKeys }) => ({ method, path, status, queryKeys }))).toEqual([
      { method: 'PUT', path: '/kv/a', status: 201, queryKeys: [] },
      { method: 'GET', path: '/kv/a', status: 200, queryKeys: ['verbose'] },
      { method: 'DELETE', path: '/kv/a', status: 204, queryKeys: [] },
    ]);
    for (const entry of log) {
      expect(entry).toMatchObject({ rateLimited: false, fault: null, clientAborted: false });
      expect(Date.parse(entry.time)).not.toBeNaN();
      expect(entry.durationMs).toBeGreaterThanOrEqual(0);
    }
    const afterFirst = (await call(`${box.inspectUrl}/partners/kv/requests?since=${log[0]?.seq}`)).json<
      RequestLogEntry[]
    >();
    expect(afterFirst.map((entry) => entry.method)).toEqual(['GET', 'DELETE']);
    const byTime = await call(`${box.inspectUrl}/partners/kv/requests?since=${encodeURIComponent(log[0]?.time ?? '')}`);
    expect(byTime.json<RequestLogEntry[]>().length).toBe(3);
    expect(box.requests('kv', log[1]?.seq)).toHaveLength(1);
    expect((await call(`${box.inspectUrl}/partners/kv/requests?since=yesterday-ish`)).status).toBe(400);
  });

  it('GET /stats counts by status class, 429s, faults and peak concurrency', async () => {
    const box = await started({ limits: true, faults: { kv: { errorRate: 0 } } });
    await call(`${box.url('kv')}/kv/a`, { method: 'PUT', body: { email: 'a@example.com' } });
    await call(`${box.url('kv')}/kv/missing`);
    const stats = (await call(`${box.inspectUrl}/stats`)).json<Record<string, PartnerStats>>();
    expect(stats.kv).toMatchObject({
      requests: 2,
      inFlight: 0,
      responses: { '2xx': 1, '3xx': 0, '4xx': 1, '5xx': 0 },
      tooManyRequests: 0,
      rateLimited: 0,
      faults: { error: 0, timeout: 0, drop: 0 },
      peakConcurrency: 1,
      handled: 2,
    });
    expect(stats.kv?.achievedPerSecond).toBeGreaterThan(0);
    expect(stats.kv?.peakPerSecond).toBeGreaterThanOrEqual(1);
    expect(box.stats()).toEqual(stats);
  });

  it('POST /reset empties the emulators, logs and stats; other methods are refused', async () => {
    const box = await started();
    await call(`${box.url('kv')}/kv/a`, { method: 'PUT', body: { email: 'a@example.com' } });
    expect((await call(`${box.inspectUrl}/reset`)).status).toBe(405);
    expect((await call(`${box.inspectUrl}/reset`, { method: 'POST' })).status).toBe(200);
    expect(box.holdings('kv')).toEqual({});
    expect(box.requests('kv')).toEqual([]);
    expect(box.stats().kv?.requests).toBe(0);
    expect((await call(`${box.inspectUrl}/nothing-here`)).status).toBe(404);
  });

  it('no request body or query value reaches anything inspection returns except holdings', async () => {
    const canary = 'canary-7f3a9c@subject.example';
    const box = await started({ limits: true });
    await call(`${box.url('kv')}/kv/a`, { method: 'PUT', body: { email: canary } });
    await call(`${box.url('kv')}/kv/a?email=${encodeURIComponent(canary)}`, { headers: { 'x-subject': canary } });
    const inspected = await Promise.all(
      ['/partners', '/partners/kv/requests', '/stats'].map(
        async (path) => (await call(`${box.inspectUrl}${path}`)).text,
      ),
    );
    for (const text of inspected) expect(text).not.toContain(canary);
    for (const value of [box.partners(), box.requests('kv'), box.stats()])
      expect(JSON.stringify(value)).not.toContain(canary);
    expect((await call(`${box.inspectUrl}/partners/kv/holdings`)).text).toContain(canary);
  });

  it('refuses a foreign Host or Origin (DNS rebinding, cross-site reset)', async () => {
    const box = await started();
    expect((await call(`${box.inspectUrl}/stats`, { headers: { host: 'evil.example' } })).status).toBe(403);
    expect(
      (await call(`${box.inspectUrl}/reset`, { method: 'POST', headers: { origin: 'https://evil.example' } })).status,
    ).toBe(403);
    const local = await call(`${box.inspectUrl}/stats`, { headers: { origin: 'http://localhost:3000' } });
    expect(local.status).toBe(200);
    expect(local.headers['access-control-allow-origin']).toBe('http://localhost:3000');
  });

  it('binds every port to 127.0.0.1 only', async () => {
    const box = await started();
    for (const url of [...Object.values(box.urls), box.inspectUrl]) {
      expect(new URL(url).hostname).toBe('127.0.0.1');
    }
    // Where the machine has another address, the same port must not answer on it.
    const external = Object.values(networkInterfaces())
      .flat()
      .find((address) => address !== undefined && address.family === 'IPv4' && !address.internal);
    if (external !== undefined) {
      for (const url of [box.urls.kv ?? '', box.inspectUrl]) {
        const { port } = new URL(url);
        await expect(call(`http://${external.address}:${port}/partners`, { timeoutMs: 2_000 })).rejects.toMatchObject({
          code: 'ECONNREFUSED',
        });
      }
    }
  });

  it('portBase puts partners on consecutive ports and inspection after them', async () => {
    // Any fixed port may be taken on a shared machine: try a few bases.
    for (let attempt = 0; attempt < 5 && sandbox === undefined; attempt += 1) {
      const base = 20_000 + Math.floor(Math.random() * 30_000);
      try {
        sandbox = await startSandbox({
          emulators: [new FakeKvEmulator({ partner: 'a' }), new FakeKvEmulator({ partner: 'b' })],
          portBase: base,
        });
        expect(sandbox.urls).toEqual({ a: `http://127.0.0.1:${base}`, b: `http://127.0.0.1:${base + 1}` });
        expect(sandbox.inspectUrl).toBe(`http://127.0.0.1:${base + 2}`);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      }
    }
    expect(sandbox).toBeDefined();
  });

  it('rejects duplicate partners and fault entries for partners it does not serve', async () => {
    await expect(startSandbox({ emulators: [new FakeKvEmulator(), new FakeKvEmulator()] })).rejects.toThrow(
      /two emulators/,
    );
    await expect(
      startSandbox({ emulators: [new FakeKvEmulator()], faults: { stripe: { errorRate: 1 } } }),
    ).rejects.toThrow(/stripe/);
    const box = await started();
    expect(() => box.url('stripe')).toThrow(/stripe/);
    expect(() => box.holdings('stripe')).toThrow(/stripe/);
  });
});
