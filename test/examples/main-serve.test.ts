/**
 * `npm start -- --serve`: the walk-through runs to its verdict, then the gateway stays up with the ops
 * server, printing its url and a demo token that the API accepts; Ctrl-C (SIGINT) stops it with the
 * walk-through's exit code. Plain `npm start` prints the same verdict and exits by itself.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const TIMEOUT = 300_000;

/** Runs examples/main.ts as `npm start` does; resolves with the output once it exits. */
function start(args: readonly string[]) {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'examples/main.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, PARTNER_GATEWAY_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

async function until(done: () => boolean, what: () => string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting; output so far:\n${what()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('npm start', { timeout: TIMEOUT }, () => {
  it('with --serve, keeps the ops server up after the walk-through, with the url and a demo token that work', async () => {
    const run = start(['--serve']);
    let exited = false;
    void run.exited.then(() => (exited = true));
    try {
      await until(
        () => exited || /CLI\s+export PARTNER_GATEWAY_SERVER_URL=/.test(run.stdout()),
        () => run.stdout() + run.stderr(),
        TIMEOUT - 30_000,
      );
      expect(exited, run.stdout() + run.stderr()).toBe(false);
      const out = run.stdout();
      expect(out).toMatch(/\nPASS: /);
      const url = /dashboard\s+(http:\/\/127\.0\.0\.1:\d+)\/dashboard#token=/.exec(out)![1]!;
      const token = /operator token \(demo-operator\)\s+(\S+)/.exec(out)![1]!;
      const readToken = /read token \(demo-read\)\s+(\S+)/.exec(out)![1]!;
      // Still up a moment later: the walk-through is over, the server is not.
      await new Promise((r) => setTimeout(r, 1_000));
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect((await fetch(`${url}/api/v1/status`)).status).toBe(401);
      const whoami = await fetch(`${url}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
      expect(await whoami.json()).toEqual({ name: 'demo-operator', role: 'operator' });
      const status = await fetch(`${url}/api/v1/status`, { headers: { authorization: `Bearer ${readToken}` } });
      expect(status.status).toBe(200);
      expect(((await status.json()) as { partners: unknown[] }).partners.length).toBeGreaterThan(0);
      const metrics = await (
        await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${readToken}` } })
      ).text();
      expect(metrics).toMatch(/^partner_gateway_partner_calls_total\{partner="stripe"/m);
      run.child.kill('SIGINT');
      expect(await run.exited).toBe(0);
      expect(run.stdout()).toMatch(/stopping: the ops server closes/);
    } finally {
      if (!exited) run.child.kill('SIGKILL');
    }
  });

  it('without --serve, is the walk-through that exits by itself, with no server', async () => {
    const run = start([]);
    expect(await run.exited, run.stdout() + run.stderr()).toBe(0);
    expect(run.stdout()).toMatch(/\nPASS: /);
    expect(run.stdout()).not.toMatch(/Ops server/);
  });
});
