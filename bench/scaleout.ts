/**
 * Part 7, scale-out (PostgreSQL only): the overhead workload worked off by 1, 2 and 4 worker
 * processes sharing one store and one sandbox. The jobs are enqueued first (one resync in this
 * process), then every worker, already open and waiting, is told to go at once; jobs/s = jobs / time
 * from go to the last worker idle. Meanwhile pg_stat_activity is sampled every 50 ms for the workers'
 * own connections (application_name), so the time they spent waiting on locks shows.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createGateway } from '../src/gateway.ts';
import { openDatabase } from '../src/store/database.ts';
import {
  ALL_PARTNERS,
  SECRETS,
  benchSandbox,
  benchSource,
  count,
  freshEngine,
  limitsOff,
  postgresUrl,
  quietLogger,
  round,
  sandboxAdapters,
  sleep,
} from './common.ts';
import { shapeOf } from './profile.ts';

export const SCALEOUT_SUBJECTS = count('BENCH_SCALEOUT_SUBJECTS', 3_000);
export const SCALEOUT_PROCESSES = (process.env.BENCH_SCALEOUT_PROCESSES ?? '1,2,4').split(',').map(Number);
const SAMPLE_MS = 50;

export interface WaitShare {
  readonly event: string;
  /** Connection-seconds spent in this wait (samples × interval). */
  readonly seconds: number;
}

export interface ScaleRun {
  readonly processes: number;
  readonly jobs: number;
  readonly seconds: number;
  readonly jobsPerSecond: number;
  readonly notCompleted: number;
  /** CPU the worker processes used, per job. */
  readonly cpuMsPerJob: number;
  /** Connection-seconds the workers' connections were active (running or waiting) in the samples. */
  readonly activeSeconds: number;
  /** Of those, waiting on heavyweight locks (rows, transactions, tables): what would serialise. */
  readonly lockSeconds: number;
  /** The wait events seen, largest first. */
  readonly waits: readonly WaitShare[];
  /** The statements that waited on a lock, by shape (verb and table), largest first. */
  readonly lockedStatements: readonly WaitShare[];
}

export interface ScaleoutResult {
  readonly subjects: number;
  readonly runs: readonly ScaleRun[];
}

export async function scaleout(): Promise<ScaleoutResult> {
  const runs: ScaleRun[] = [];
  for (const processes of SCALEOUT_PROCESSES) runs.push(await scaleRun(processes));
  return { subjects: SCALEOUT_SUBJECTS, runs };
}

async function scaleRun(processes: number): Promise<ScaleRun> {
  const n = SCALEOUT_SUBJECTS;
  const appName = `gw-bench-scaleout-${process.pid}-${processes}`;
  const sandbox = await benchSandbox(false);
  const store = freshEngine('postgres');
  const workers: ChildProcess[] = [];
  try {
    const gateway = await createGateway({
      database: store.database,
      adapters: sandboxAdapters(sandbox),
      source: benchSource(1, n),
      secrets: SECRETS,
      limits: limitsOff(),
      logger: quietLogger(),
    });
    let jobs: number;
    try {
      jobs = (await gateway.resync({ operator: 'bench' })).enqueued;
    } finally {
      await gateway.stop();
    }

    const urls = Object.fromEntries(ALL_PARTNERS.map((p) => [p, sandbox.url(p)]));
    const arg = JSON.stringify({ location: store.location, urls, subjects: n });
    const outputs: Promise<{ seconds: number; cpuMs: number }>[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < processes; i++) {
      const child = spawn(
        process.execPath,
        ['--disable-warning=ExperimentalWarning', fileURLToPath(new URL('./scaleout-worker.ts', import.meta.url)), arg],
        { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, PGAPPNAME: appName } },
      );
      workers.push(child);
      const lines = createInterface({ input: child.stdout! });
      let isReady: () => void;
      ready.push(new Promise<void>((resolve) => (isReady = resolve)));
      outputs.push(
        new Promise((resolve, reject) => {
          lines.on('line', (line) => {
            if (line === 'ready') isReady();
            else if (line.startsWith('{')) resolve(JSON.parse(line));
          });
          child.once('exit', (code) => reject(new Error(`scale-out worker exited (${code}) without a result`)));
        }),
      );
    }
    // A worker that dies before it is ready rejects its output: that ends the wait too.
    await Promise.all(ready.map((r, i) => Promise.race([r, outputs[i]!.then(() => undefined)])));

    const monitor = await openDatabase({ url: postgresUrl()!, schema: 'public', poolSize: 1 });
    const waits = new Map<string, number>();
    const lockedOn = new Map<string, number>();
    let active = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const rows = await monitor.query<{ type: string | null; event: string | null; query: string }>(
          `select wait_event_type as type, wait_event as event, query from pg_stat_activity
           where application_name = $1 and state = 'active'`,
          [appName],
        );
        for (const r of rows) {
          active++;
          if (!r.type) continue;
          waits.set(`${r.type}:${r.event}`, (waits.get(`${r.type}:${r.event}`) ?? 0) + 1);
          if (r.type === 'Lock') {
            const shape = `${r.event}: ${shapeOf(r.query)}`;
            lockedOn.set(shape, (lockedOn.get(shape) ?? 0) + 1);
          }
        }
        await sleep(SAMPLE_MS);
      }
    })();
    const started = performance.now();
    for (const w of workers) w.stdin!.write('go\n');
    const results = await Promise.all(outputs);
    const seconds = (performance.now() - started) / 1000;
    sampling = false;
    await sampler;
    await monitor.close();

    const check = await openDatabase(store.database);
    let ok = 0;
    try {
      [{ ok } = { ok: 0 }] = await check.query<{ ok: number }>(
        `select count(*)::int as ok from transfer_log where kind = 'outcome' and outcome = 'ok'`,
      );
      // Jobs left to retry: say why (the outcome rows' codes), on standard error beside the table.
      if (ok < jobs) {
        const failed = await check.query<{ outcome: string; code: string | null; n: number }>(
          `select outcome, error_code as code, count(*)::int as n from transfer_log
           where kind = 'outcome' and outcome <> 'ok' group by 1, 2 order by 3 desc`,
        );
        process.stderr.write(`scale-out ${processes}: ${jobs - ok} jobs not completed; ${JSON.stringify(failed)}\n`);
      }
    } finally {
      await check.close();
    }
    const toSeconds = (samples: number) => round((samples * SAMPLE_MS) / 1000, 2);
    const top = (m: Map<string, number>) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([event, v]) => ({ event, seconds: toSeconds(v) }));
    const lock = [...waits].filter(([k]) => k.startsWith('Lock:')).reduce((sum, [, v]) => sum + v, 0);
    return {
      processes,
      jobs,
      seconds: round(seconds, 2),
      jobsPerSecond: round(jobs / seconds),
      notCompleted: jobs - ok,
      cpuMsPerJob: round(results.reduce((sum, r) => sum + r.cpuMs, 0) / jobs, 3),
      activeSeconds: toSeconds(active),
      lockSeconds: toSeconds(lock),
      waits: top(waits),
      lockedStatements: top(lockedOn),
    };
  } finally {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGTERM');
    await store.cleanup();
    await sandbox.close();
  }
}
