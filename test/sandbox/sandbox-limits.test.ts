import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.ts';
import { FakeKvEmulator } from './fake-emulator.ts';
import { all, call, type Reply } from './http.ts';

let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

async function burst(url: string, count: number, path = '/kv/missing'): Promise<Reply[]> {
  const settled = await all(Array.from({ length: count }, () => call(`${url}${path}`)));
  return settled.map((result) => {
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  });
}

const passed = (replies: Reply[]): Reply[] => replies.filter((reply) => reply.status !== 429);
const limited = (replies: Reply[]): Reply[] => replies.filter((reply) => reply.status === 429);

describe('sandbox limits', () => {
  it('perSecond: of 60 requests at once about 20 pass, the rest get the emulator 429 with Retry-After', async () => {
    const emulator = new FakeKvEmulator({ limits: { perSecond: 20 } });
    sandbox = await startSandbox({ emulators: [emulator], limits: true });
    const replies = await burst(sandbox.url('kv'), 60);

    // 20 is the burst; a slow machine refills a few more tokens while the burst is still arriving.
    expect(passed(replies).length).toBeGreaterThanOrEqual(20);
    expect(passed(replies).length).toBeLessThanOrEqual(35);
    for (const reply of limited(replies)) {
      expect(reply.headers['x-kv-error']).toBe('rate_limited');
      expect(reply.json()).toEqual({ error: 'kv_rate_limited' });
      expect(Number(reply.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(reply.headers['retry-after'])).toBeLessThanOrEqual(2);
    }
    expect(emulator.handled).toBe(passed(replies).length);
    const stats = sandbox.stats().kv;
    expect(stats?.rateLimited).toBe(limited(replies).length);
    expect(stats?.tooManyRequests).toBe(limited(replies).length);
    expect(stats?.requests).toBe(60);
  });

  it('window: at most max requests per fixed window, Retry-After within the window', async () => {
    // An hour-long window: the burst straddles a boundary once in a blue moon, hence the tolerance.
    sandbox = await startSandbox({
      emulators: [new FakeKvEmulator({ limits: { window: { ms: 3_600_000, max: 5 } } })],
      limits: true,
    });
    const replies = await burst(sandbox.url('kv'), 15);
    expect(passed(replies).length).toBeGreaterThanOrEqual(5);
    expect(passed(replies).length).toBeLessThanOrEqual(10);
    for (const reply of limited(replies)) {
      const retryAfter = Number(reply.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(3_600);
    }
  });

  it('maxConcurrent: slow requests hold their slots; the excess is refused, and slots free afterwards', async () => {
    sandbox = await startSandbox({ emulators: [new FakeKvEmulator({ limits: { maxConcurrent: 3 } })], limits: true });
    const replies = await burst(sandbox.url('kv'), 10, '/slow?ms=1500');
    // Exactly 3 when all 10 arrive within 1.5 s; a very slow machine may let a few more in later.
    expect(passed(replies).length).toBeGreaterThanOrEqual(3);
    expect(passed(replies).length).toBeLessThanOrEqual(6);
    expect(limited(replies).length).toBeGreaterThanOrEqual(4);
    expect(sandbox.stats().kv?.peakConcurrency).toBeGreaterThanOrEqual(3);

    const after = await burst(sandbox.url('kv'), 3, '/slow?ms=10');
    expect(passed(after)).toHaveLength(3);
  });

  it('counts: requests the emulator does not count pass whatever the limit', async () => {
    const emulator = new FakeKvEmulator({ limits: { perSecond: 1, counts: (req) => req.method === 'PUT' } });
    sandbox = await startSandbox({ emulators: [emulator], limits: true });
    const reads = await burst(sandbox.url('kv'), 20);
    expect(reads.every((reply) => reply.status === 404)).toBe(true);
    const writes = await all(
      Array.from({ length: 5 }, (_, i) =>
        call(`${sandbox?.url('kv')}/kv/k${i}`, { method: 'PUT', body: { email: 'x' } }),
      ),
    );
    const statuses = writes.map((result) => (result.status === 'fulfilled' ? result.value.status : 0));
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(3);
  });

  it('limits off (the default): everything passes', async () => {
    const emulator = new FakeKvEmulator({ limits: { perSecond: 1, maxConcurrent: 1, window: { ms: 60_000, max: 1 } } });
    sandbox = await startSandbox({ emulators: [emulator] });
    const replies = await burst(sandbox.url('kv'), 30, '/slow?ms=50');
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    expect(emulator.handled).toBe(30);
    expect(sandbox.stats().kv?.rateLimited).toBe(0);
  });

  it('each partner has its own port and its own limits', async () => {
    const alpha = new FakeKvEmulator({ partner: 'alpha', limits: { perSecond: 2 } });
    const beta = new FakeKvEmulator({ partner: 'beta', limits: { perSecond: 50 } });
    sandbox = await startSandbox({ emulators: [alpha, beta], limits: true });
    expect(sandbox.urls.alpha).not.toBe(sandbox.urls.beta);
    await burst(sandbox.url('alpha'), 10);
    const betaReplies = await burst(sandbox.url('beta'), 10);
    expect(limited(betaReplies)).toHaveLength(0);
    expect(alpha.handled).toBeLessThanOrEqual(4);
    expect(beta.handled).toBe(10);
  });
});
