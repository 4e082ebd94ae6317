import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.ts';
import { FakeKvEmulator } from './fake-emulator.ts';
import { all, call, eventually } from './http.ts';

let sandbox: Sandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

/** Sequential, so the order of draws (and thus the outcome) is fixed by the seed. */
async function statuses(url: string, count: number): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < count; i += 1) seen.push((await call(`${url}/kv/missing`)).status);
  return seen;
}

describe('sandbox faults', () => {
  it('errorRate with a fixed seed gives the configured share of 503s, in the partner shape when it has one', async () => {
    const emulator = new FakeKvEmulator({ unavailable: true });
    sandbox = await startSandbox({ emulators: [emulator], faults: { kv: { errorRate: 0.25 } }, seed: 42 });
    let errors = 0;
    for (let batch = 0; batch < 10; batch += 1) {
      const settled = await all(Array.from({ length: 40 }, () => call(`${sandbox?.url('kv')}/kv/missing`)));
      for (const result of settled) {
        if (result.status === 'rejected') throw result.reason;
        if (result.value.status === 503) {
          errors += 1;
          expect(result.value.headers['x-kv-error']).toBe('unavailable');
          expect(result.value.headers['retry-after']).toBe('1');
        } else expect(result.value.status).toBe(404);
      }
    }
    expect(errors / 400).toBeGreaterThan(0.17);
    expect(errors / 400).toBeLessThan(0.33);
    expect(emulator.handled).toBe(400 - errors);
    expect(sandbox.stats().kv?.faults.error).toBe(errors);
    expect(sandbox.stats().kv?.responses['5xx']).toBe(errors);
  });

  it('without a partner shape an injected error is a plain 503 with Retry-After', async () => {
    sandbox = await startSandbox({
      emulators: [new FakeKvEmulator()],
      faults: { '*': { errorRate: 1, retryAfterSeconds: 7 } },
    });
    const reply = await call(`${sandbox.url('kv')}/kv/a`);
    expect(reply.status).toBe(503);
    expect(reply.headers['retry-after']).toBe('7');
  });

  it('the same seed replays the same faults, in another sandbox and after a reset', async () => {
    const options = { faults: { '*': { errorRate: 0.3 } }, seed: 9 } as const;
    sandbox = await startSandbox({ emulators: [new FakeKvEmulator()], ...options });
    const first = await statuses(sandbox.url('kv'), 40);
    expect(first).toContain(503);
    expect(first).toContain(404);
    sandbox.reset();
    expect(await statuses(sandbox.url('kv'), 40)).toEqual(first);

    const other = await startSandbox({ emulators: [new FakeKvEmulator()], ...options });
    try {
      expect(await statuses(other.url('kv'), 40)).toEqual(first);
    } finally {
      await other.close();
    }
  });

  it('faults for one partner leave the others alone', async () => {
    const healthy = new FakeKvEmulator({ partner: 'healthy' });
    sandbox = await startSandbox({
      emulators: [new FakeKvEmulator({ partner: 'flaky' }), healthy],
      faults: { flaky: { errorRate: 1 } },
    });
    expect((await call(`${sandbox.url('flaky')}/kv/a`)).status).toBe(503);
    expect((await call(`${sandbox.url('healthy')}/kv/a`)).status).toBe(404);
    sandbox.setFaults({ '*': { errorRate: 1 } });
    expect((await call(`${sandbox.url('healthy')}/kv/a`)).status).toBe(503);
  });

  it('dropRate destroys the socket: the client sees a socket error and the partner never saw the request', async () => {
    const emulator = new FakeKvEmulator();
    sandbox = await startSandbox({ emulators: [emulator], faults: { kv: { dropRate: 1 } } });
    const failure = await call(`${sandbox.url('kv')}/kv/a`, { method: 'PUT', body: { email: 'a@example.com' } }).then(
      () => undefined,
      (error: NodeJS.ErrnoException) => error,
    );
    expect(failure?.code).toBe('ECONNRESET');
    expect(emulator.handled).toBe(0);
    expect(sandbox.requests('kv')).toMatchObject([{ fault: 'drop', status: null, method: 'PUT', path: '/kv/a' }]);
    expect(sandbox.stats().kv?.faults.drop).toBe(1);
  });

  it('afterHandling: the partner acts but the answer is lost', async () => {
    const emulator = new FakeKvEmulator();
    sandbox = await startSandbox({ emulators: [emulator], faults: { kv: { dropRate: 1, afterHandling: true } } });
    await expect(
      call(`${sandbox.url('kv')}/kv/a`, { method: 'PUT', body: { email: 'a@example.com' } }),
    ).rejects.toThrow();
    expect(emulator.handled).toBe(1);
    expect(Object.keys(sandbox.holdings('kv'))).toEqual(['a']);
  });

  it('timeoutRate holds the request until the client gives up, then logs it', async () => {
    const emulator = new FakeKvEmulator();
    sandbox = await startSandbox({ emulators: [emulator], faults: { kv: { timeoutRate: 1 } } });
    const failure = await call(`${sandbox.url('kv')}/kv/a`, { timeoutMs: 300 }).then(
      () => undefined,
      (error: NodeJS.ErrnoException) => error,
    );
    expect(failure?.code).toBe('CLIENT_TIMEOUT');
    await eventually(() => sandbox?.stats().kv?.inFlight === 0);
    expect(sandbox.requests('kv')).toMatchObject([{ fault: 'timeout', status: null, clientAborted: true }]);
    expect(sandbox.stats().kv).toMatchObject({ faults: { timeout: 1 }, clientAborted: 1 });
    expect(emulator.handled).toBe(0);
  });

  it('close() cuts off a held request', async () => {
    sandbox = await startSandbox({ emulators: [new FakeKvEmulator()], faults: { kv: { timeoutRate: 1 } } });
    const pending = call(`${sandbox.url('kv')}/kv/a`, { timeoutMs: 20_000 });
    await eventually(() => sandbox?.stats().kv?.inFlight === 1);
    await sandbox.close();
    await expect(pending).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('latencyMs delays answers (fixed or within a range)', async () => {
    sandbox = await startSandbox({ emulators: [new FakeKvEmulator()], faults: { kv: { latencyMs: 80 } } });
    await call(`${sandbox.url('kv')}/kv/a`);
    const [entry] = sandbox.requests('kv');
    expect(entry?.latencyMs).toBe(80);
    // Timers may fire a millisecond early, never much more.
    expect(entry?.durationMs).toBeGreaterThanOrEqual(75);

    sandbox.setFaults({ kv: { latencyMs: { min: 5, max: 25 } } });
    await statuses(sandbox.url('kv'), 10);
    for (const logged of sandbox.requests('kv').slice(1)) {
      expect(logged.latencyMs).toBeGreaterThanOrEqual(5);
      expect(logged.latencyMs).toBeLessThanOrEqual(25);
    }
  });
});
