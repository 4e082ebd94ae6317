import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import { MemoryAdapter } from '../support/memory-adapter.ts';
import { canaryRecord, MemorySource } from '../support/records.ts';
import { testSecrets } from '../support/harness.ts';

const fixture = new URL('./fixtures/crash-worker.ts', import.meta.url).pathname;
let dir: string | undefined;
let gateway: Gateway | undefined;
afterEach(async () => {
  await gateway?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  gateway = undefined;
  dir = undefined;
});

function run(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('a worker that dies mid-call', () => {
  it('leaves an honest "unknown" outcome, and the retry completes the work', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pgw-crash-'));
    const crashed = await run([fixture, dir]);
    expect(crashed.signal).toBe('SIGKILL');

    // A fresh process on the same data directory (the dead one's lock is stale and taken over).
    const adapter = new MemoryAdapter('elogistik');
    gateway = await createGateway({
      database: { dataDir: dir },
      adapters: [adapter],
      source: new MemorySource([canaryRecord(1)]),
      secrets: testSecrets,
      retry: { expireInSeconds: 1, superviseIntervalSeconds: 1, retryDelaySeconds: 1, retryDelayMaxSeconds: 1 },
    });
    const before = await gateway.audit.list({ subjectId: 'subj-1' });
    expect(before.map((r) => r.kind)).toEqual(['intent']);

    await gateway.runUntilIdle({ timeoutMs: 60_000, waitForRetries: true });
    const rows = await gateway.audit.list({ subjectId: 'subj-1' });
    expect(rows.map((r) => [r.kind, r.attempt, r.outcome, r.errorCode])).toEqual([
      ['intent', 1, null, null],
      ['outcome', 1, 'unknown', 'attempt_died'],
      ['intent', 2, null, null],
      ['outcome', 2, 'ok', null],
    ]);
    expect(rows[1]!.intentSeq).toBe(rows[0]!.seq);
    expect(adapter.calls).toHaveLength(1);
    expect((await gateway.audit.verify()).ok).toBe(true);
  }, 90_000);

  it('on the default retry policy, delays its job by the heartbeat lapse, one monitor pass and a retry delay', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pgw-crash-default-'));
    const crashed = await run([fixture, dir, 'default-retry']);
    expect(crashed.signal).toBe('SIGKILL');
    const diedAt = Date.now();
    const adapter = new MemoryAdapter('elogistik');
    gateway = await createGateway({
      database: { dataDir: dir },
      adapters: [adapter],
      source: new MemorySource([canaryRecord(1)]),
      secrets: testSecrets,
    });
    await gateway.work({ pollingIntervalSeconds: 0.5 });
    let doneAt: number | undefined;
    while (doneAt === undefined && Date.now() - diedAt < 60_000) {
      await new Promise((r) => setTimeout(r, 250));
      if (adapter.calls.length > 0) doneAt = Date.now();
    }
    const delay = ((doneAt ?? Date.now()) - diedAt) / 1_000;
    // Heartbeat 10 s, monitor every 5 s, then the first retry delay (5 s, with jitter): the README
    // ("Operating", "A worker crash") quotes this.
    console.log(`worker crash: the job was retried ${delay.toFixed(1)} s after the worker died`);
    expect(doneAt, 'the job was never retried').toBeDefined();
    // About 20 s expected; the margin is for a loaded machine, where opening the store takes longer.
    expect(delay).toBeLessThan(40);
  }, 120_000);
});
