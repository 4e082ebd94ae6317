/**
 * The benchmark (`npm run bench`): overhead, limit fidelity, batching, diffing and erasure latency,
 * against the partner sandbox, on the embedded store (PGlite in a temp directory) and, when
 * PARTNER_GATEWAY_BENCH_DATABASE_URL or PARTNER_GATEWAY_TEST_DATABASE_URL is set, on PostgreSQL (a
 * fresh schema per store, dropped after). Prints a table and writes bench/RESULTS.md.
 *
 * Sizes and durations are the constants in the part files, overridable by environment variables
 * (BENCH_SCALE multiplies every count; BENCH_OVERHEAD_SUBJECTS, BENCH_BATCH_MEMBERS,
 * BENCH_DIFF_SUBJECTS, BENCH_ERASURE_SUBJECTS, BENCH_LIMIT_SECONDS, BENCH_LIMIT_INTERCOM_SECONDS,
 * BENCH_LIMIT_LATENCY_MS set one each). BENCH_ENGINES=pglite (or postgres) runs one engine only.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/store/database.ts';
import type { BatchRun } from './batching.ts';
import {
  LIMITS_OFF_MAX_CONCURRENT,
  RESULT_MARK,
  STORE_MARK,
  engineAt,
  postgresUrl,
  round,
  setting,
  type Engine,
} from './common.ts';
import type { DiffingResult } from './diffing.ts';
import type { ErasureResult } from './erasure.ts';
import type { SafetyResult } from './safety.ts';
import { INTERCOM_SECONDS, LIMIT_SECONDS, type LimitsResult, type PartnerFidelity } from './limits.ts';
import type { OverheadResult } from './overhead.ts';

/** A child process that runs longer than this is stopped and its parts reported as not measured. */
const CHILD_TIMEOUT_MS = setting('BENCH_CHILD_TIMEOUT_S', 300) * 1000;
const TARGETS = {
  jobsPerSecond: { pglite: 1_000, postgres: 3_000 } as Record<Engine, number>,
  rateShare: 90,
  tooManyShare: 1,
  maxConcurrent: 10,
  batchCalls: 25,
  diffCalls: 0,
  diffSeconds: 30,
  diffRssMb: 300,
};

const started = Date.now();
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const say = (line = '') => process.stdout.write(`${line}\n`);

interface TaskOutput {
  readonly task: string;
  readonly result?: unknown;
  readonly error?: string;
  readonly seconds: number;
  readonly peakRssMb: number;
}

const stores: { engine: Engine; location: string }[] = [];

/** Runs bench/child.ts with the tasks given; resolves with each task's output (or an error for each). */
function runChild(engine: Engine, tasks: readonly string[], arg?: string): Promise<TaskOutput[]> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        '--expose-gc',
        here('./child.ts'),
        engine,
        tasks.join(','),
        ...(arg ? [arg] : []),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const outputs: TaskOutput[] = [];
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.startsWith(RESULT_MARK)) {
          const out = JSON.parse(line.slice(RESULT_MARK.length)) as TaskOutput;
          outputs.push(out);
          say(
            `  ${engine} ${out.task}: ${out.error ? `FAILED (${out.error})` : 'done'} in ${out.seconds} s, peak RSS ${out.peakRssMb} MB`,
          );
        } else if (line.startsWith(STORE_MARK)) stores.push(JSON.parse(line.slice(STORE_MARK.length)));
        else if (line.trim()) say(`  ${line}`);
      }
    });
    const timer = setTimeout(() => {
      say(`  ${engine} ${tasks.join(',')}: stopped after ${CHILD_TIMEOUT_MS / 1000} s`);
      child.kill('SIGKILL');
    }, CHILD_TIMEOUT_MS);
    child.on('exit', () => {
      clearTimeout(timer);
      for (const task of tasks)
        if (!outputs.some((o) => o.task === task))
          outputs.push({ task, error: 'not measured (the process ended first)', seconds: 0, peakRssMb: 0 });
      resolve(outputs);
    });
  });
}

interface EngineResults {
  readonly engine: Engine;
  readonly label: string;
  readonly outputs: Record<string, TaskOutput>;
}

async function runEngine(engine: Engine, label: string): Promise<EngineResults> {
  say(`\n== ${label}`);
  const outputs: Record<string, TaskOutput> = {};
  for (const o of await runChild(engine, [
    'overhead',
    'limits-declared',
    'limits-documented',
    'batching',
    'erasure',
    'safety',
  ]))
    outputs[o.task] = o;
  const [seed] = await runChild(engine, ['diff-seed']);
  outputs['diff-seed'] = seed!;
  if (seed?.result) {
    const [measure] = await runChild(engine, ['diff-measure'], JSON.stringify(seed.result));
    outputs['diff-measure'] = measure!;
  } else
    outputs['diff-measure'] = {
      task: 'diff-measure',
      error: 'not measured (seeding failed)',
      seconds: 0,
      peakRssMb: 0,
    };
  return { engine, label, outputs };
}

async function postgresVersion(url: string): Promise<string> {
  const db = await openDatabase({ url, schema: 'public', poolSize: 1 });
  try {
    const [row] = await db.query<{ v: string }>(`select current_setting('server_version') as v`);
    return row?.v ?? 'unknown';
  } finally {
    await db.close();
  }
}

/** The commit measured, with "+ local changes" when src/ or adapters/ differ from it. */
function gitRevision(): string {
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: here('..'), encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : '';
  };
  const head = git('rev-parse', '--short', 'HEAD') || 'unknown';
  return git('status', '--porcelain', '--', 'src', 'adapters', 'config') ? `${head} + local changes` : head;
}

async function sweepStores(): Promise<void> {
  for (const { engine, location } of stores) {
    if (engine === 'pglite') {
      if (existsSync(location)) rmSync(location, { recursive: true, force: true });
    } else
      await engineAt(engine, location)
        .cleanup()
        .catch((error: Error) => say(`  could not drop ${location}: ${error.message}`));
  }
}

// ---------------------------------------------------------------------------------------------
// Rows

type Status = 'met' | 'MISSED' | 'n/a' | 'not measured';
interface Row {
  readonly id: string;
  readonly measure: string;
  readonly target: string;
  readonly measured: string;
  readonly status: Status;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const met = (ok: boolean): Status => (ok ? 'met' : 'MISSED');

function rowsFor(r: EngineResults): Row[] {
  const rows: Row[] = [];
  const o = r.outputs;
  const missing = (id: string, measure: string, target: string, out: TaskOutput | undefined) =>
    rows.push({ id, measure, target, measured: out?.error ?? 'not measured', status: 'not measured' });

  // 1. Overhead
  const ov = o.overhead?.result as OverheadResult | undefined;
  const jobsTarget = TARGETS.jobsPerSecond[r.engine];
  if (ov) {
    rows.push({
      id: '1a',
      measure: `Overhead: reconcile jobs/s, limits and latency off (${fmt(ov.subjects)} subjects × ${ov.partners.length} partners)`,
      target: `>= ${fmt(jobsTarget)} jobs/s`,
      measured: `${fmt(ov.jobsPerSecond)} jobs/s (${fmt(ov.jobs)} jobs in ${ov.seconds} s; ${fmt(ov.partnerRequests)} partner requests${ov.notCompleted ? `; ${ov.notCompleted} jobs not completed` : ''})`,
      status: met(ov.jobsPerSecond >= jobsTarget && ov.notCompleted === 0),
    });
    rows.push({
      id: '1b',
      measure: 'Naive baseline: one adapter.upsert per record in a loop, no queue, no log',
      target: '(reference)',
      measured: `${fmt(ov.baselineCallsPerSecond)} calls/s (${fmt(ov.baselineCalls)} calls in ${ov.baselineSeconds} s); gateway / naive = ${ov.ratio}`,
      status: 'n/a',
    });
  } else {
    missing('1a', 'Overhead: reconcile jobs/s', `>= ${fmt(jobsTarget)} jobs/s`, o.overhead);
    missing('1b', 'Naive baseline', '(reference)', o.overhead);
  }

  // 2. Limit fidelity
  for (const [task, tag] of [
    ['limits-declared', 'a'],
    ['limits-documented', 'b'],
  ] as const) {
    const lim = o[task]?.result as LimitsResult | undefined;
    const variantText = tag === 'a' ? 'adapter-declared limits' : 'host-configured documented limits';
    if (!lim) {
      missing(`2${tag}`, `Limit fidelity, ${variantText}`, '>= 90% of limit, <= 1% 429', o[task]);
      continue;
    }
    if (lim.skipped)
      rows.push({
        id: `2${tag}`,
        measure: `Limit fidelity, ${variantText}`,
        target: '(not needed)',
        measured: `not run: ${lim.skipped}`,
        status: 'n/a',
      });
    lim.partners.forEach((p, i) => rows.push(limitRow(`2${tag}.${i + 1}`, p, variantText, lim)));
  }

  // 3. Batching
  const b = o.batching?.result as BatchRun | undefined;
  if (b) {
    rows.push({
      id: '3',
      measure: `Batching: Mailchimp calls for a resync of ${fmt(b.members)} consented members (batchSize ${b.batchSize ?? 'default'})`,
      target: `<= ${TARGETS.batchCalls} calls`,
      measured: `${fmt(b.calls)} calls (${fmt(b.subscribed)} subscribed, ${b.seconds} s; consent granted first through gateway.consent.grant in ${b.consentSeconds} s, ${fmt(b.members / b.consentSeconds)} grants/s)`,
      status: met(b.calls <= TARGETS.batchCalls && b.subscribed === b.members),
    });
  } else missing('3', 'Batching: Mailchimp calls for a resync', `<= ${TARGETS.batchCalls} calls`, o.batching);

  // 4. Diffing
  const d = o['diff-measure']?.result as DiffingResult | undefined;
  if (d) {
    const what = `resync of ${fmt(d.subjects)} unchanged subjects`;
    rows.push({
      id: '4a',
      measure: `Diffing: partner calls, ${what}`,
      target: `${TARGETS.diffCalls} calls`,
      measured: `${fmt(d.partnerCalls)} calls (${fmt(d.enqueued)} jobs enqueued, ${fmt(d.unchanged)} pairs unchanged)`,
      status: met(d.partnerCalls === TARGETS.diffCalls && d.enqueued === 0),
    });
    rows.push({
      id: '4b',
      measure: `Diffing: wall time, ${what}`,
      target: `<= ${TARGETS.diffSeconds} s`,
      measured: `${d.seconds} s (resync ${d.resyncSeconds} s)`,
      status: met(d.seconds <= TARGETS.diffSeconds),
    });
    rows.push({
      id: '4c',
      measure: `Diffing: peak RSS of the gateway process, ${what}`,
      target: `<= ${TARGETS.diffRssMb} MB`,
      measured: `${fmt(d.peakRssMb)} MB (${fmt(d.rssBeforeMb)} MB with the gateway open and idle, before the resync; JS heap in use at most ${fmt(d.peakHeapMb)} MB)`,
      status: met(d.peakRssMb <= TARGETS.diffRssMb),
    });
  } else {
    const out = o['diff-measure']?.error ? o['diff-measure'] : o['diff-seed'];
    missing(
      '4',
      'Diffing: resync of unchanged subjects',
      `${TARGETS.diffCalls} calls, <= ${TARGETS.diffSeconds} s, <= ${TARGETS.diffRssMb} MB`,
      out,
    );
  }

  // 5. Erasure
  const e = o.erasure?.result as ErasureResult | undefined;
  if (e) {
    rows.push({
      id: '5',
      measure: `Erasure latency: erase() to every partner confirmed, ${e.subjects} subjects held at 4 partners (${e.partners} adapters)`,
      target: '(no target: p50, p95)',
      measured: `p50 ${fmt(e.p50Ms)} ms, p95 ${fmt(e.p95Ms)} ms, max ${fmt(e.maxMs)} ms${e.allComplete ? '' : '; NOT all complete'}`,
      status: e.allComplete ? 'n/a' : 'MISSED',
    });
  } else missing('5', 'Erasure latency', '(no target)', o.erasure);

  // 7. Safety: the deletion limit
  const sf = o.safety?.result as SafetyResult | undefined;
  if (sf) {
    const ok = sf.refused && sf.partnerCalls === 0 && sf.missingNoted === 0 && sf.stillHeld === sf.subjects;
    rows.push({
      id: '7',
      measure: `Safety: resync of ${fmt(sf.subjects)} subjects whose source lost ${fmt(sf.lost)} (30%), beside a dry run`,
      target: 'deletes nothing, reports the limit, about the time of a dry run',
      measured:
        `${sf.refused ? 'refused' : 'NOT refused'} (limit: more than ${sf.limit.count} or ${Math.round(sf.limit.share * 100)}%); ` +
        `${sf.partnerCalls} partner calls, ${sf.enqueued} jobs, ${sf.missingNoted} noted missing, ${fmt(sf.stillHeld)} still held; ` +
        `resync ${sf.resyncSeconds} s, dry run ${sf.dryRunSeconds} s`,
      status: ok ? 'met' : 'MISSED',
    });
  } else missing('7', 'Safety: resync with 30% of the records lost', 'deletes nothing', o.safety);

  const peak = Math.max(...Object.values(o).map((x) => x.peakRssMb));
  rows.push({
    id: '6',
    measure: "Peak RSS of any gateway process in this engine's runs",
    target: '(reference)',
    measured: `${fmt(peak)} MB`,
    status: 'n/a',
  });
  return rows;
}

function limitRow(id: string, p: PartnerFidelity, variantText: string, lim: LimitsResult): Row {
  const tooMany = `429: ${p.tooManyShare}% (${p.tooMany} of ${p.requests})`;
  if (p.maxConcurrent !== null) {
    return {
      id,
      measure: `Limit fidelity, ${variantText}: ${p.partner} (${p.limit}; gateway: ${p.gatewayLimit})`,
      target: `peak <= ${p.maxConcurrent} concurrent, <= ${TARGETS.tooManyShare}% 429`,
      measured: `peak ${p.peakConcurrency} of ${p.maxConcurrent} concurrent; ${tooMany}; ${lim.suppressed} of ${lim.withdrawals} withdrawals took effect`,
      status: met(p.peakConcurrency <= p.maxConcurrent && p.tooManyShare <= TARGETS.tooManyShare),
    };
  }
  const rate =
    p.fullestWindow !== null
      ? `${p.rateShare ?? 'n/a'}% of the window (${fmt(p.fullestWindow)} accepted in the fullest whole 10 s window; ${p.steadyPerSecond ?? 'n/a'}/s accepted from second 1 to ${INTERCOM_SECONDS})`
      : p.rateShare === null
        ? 'rate n/a (no request)'
        : `${p.rateShare}% of the limit (${p.steadyPerSecond}/s accepted from second 1 to ${LIMIT_SECONDS})`;
  return {
    id,
    measure: `Limit fidelity, ${variantText}: ${p.partner} (${p.limit}; gateway: ${p.gatewayLimit})`,
    target: `>= ${TARGETS.rateShare}% of limit, <= ${TARGETS.tooManyShare}% 429`,
    measured: `${rate}; ${tooMany}; ${p.windowSeconds} s`,
    status: met((p.rateShare ?? 0) >= TARGETS.rateShare && p.tooManyShare <= TARGETS.tooManyShare),
  };
}

const HOW: Record<string, string> = {
  '1a':
    "A fresh sandbox (its own process; limits and latency off) and a fresh store; every adapter is configured and the gateway's `limits` override every partner to no `perSecond` and `maxConcurrent` " +
    (LIMITS_OFF_MAX_CONCURRENT > 0 ? fmt(LIMITS_OFF_MAX_CONCURRENT) : 'unset') +
    ' (on PostgreSQL a set `maxConcurrent` is kept across processes with leased slot rows, two statements per batch). `gateway.resync()` over a streamed source of N new subjects, then `runUntilIdle()`; jobs/s = jobs enqueued / time from the start of `resync()` to the end of `runUntilIdle()`. The jobs are the sync partners that need no consent (E-logistik, Stripe, Intercom, Auth0 creating users); one intent and one outcome row, one partner call each. "Not completed" counts jobs without an ok outcome when the queues went idle.',
  '1b': "The same records and partners against a fresh sandbox, before the gateway run: for each partner, for each record, parse, minimise and `await adapter.upsert()`, one at a time, with no queue, no database and no transfer log. The ratio is the gateway's jobs/s over these calls/s.",
  '2a': "The sandbox (its own process) enforces each partner's documented limit and answers with the partner's own 429; every request gets a latency of 20-60 ms (uniform) so that requests overlap as with real partners. The gateway keeps only the limits the adapters declare. One window for all partners at once: each sync partner gets (limit × 8 s) resync jobs (Intercom: limit × 20 s, so that one whole 10-second window lies inside the run), Twilio gets sequential `gateway.call(subject, 'alarm', {twiml})` for 8 s, Mailchimp gets a consent withdrawal for each of 300 members subscribed before the window (suppress calls go one call each, so concurrency shows). Clients are warmed up first with one subject synced everywhere and one alarm call. From the sandbox's request log (only the requests each limit counts: Auth0's Management API, Twilio's call creations): rate = requests accepted from 1 s after the partner's first request (the partners allow one second's worth as a burst) to 8 s after it (the workload lasts 8 s at the limit), per second, as a share of the limit (so a job that got a 429 and waits out its retry backoff costs rate); for Intercom, the accepted requests in the fullest whole window as a share of 1,667; 429 share = requests answered 429 / requests. Mailchimp: peak concurrency from the sandbox's stats (`peakConcurrency`, in-flight requests as sent) against 10.",
  '2b': 'As 2a, but the host configures (gateway option `limits`) the documented limits (Stripe 25/s, Auth0 2/s, Twilio 1/s, Mailchimp 10 concurrent) for the partners whose adapters declare other limits; only those run, and the variant is skipped when every adapter declares the documented limits.',
  '3': "A gateway with only the Mailchimp adapter and default options (no `batchSize` given, unless BENCH_BATCH_SIZE), limits off. 10,000 members get marketing consent through `gateway.consent.grant()` (8 at a time; the time is reported apart, and each grant also enqueues the member's job), then `resync({ partner: 'mailchimp' })` and `runUntilIdle()`; calls = the sandbox's request count for Mailchimp from the resync on. \"Subscribed\" counts Mailchimp links holding the consent grant afterwards.",
  '4a': "Syncing 100,000 subjects for real would not fit the time budget, so: the first 200 subjects are synced for real through the pipeline (resync + runUntilIdle), and the other 99,800 are seeded into `links` with the digests and field lists the gateway stores, computed with `createKeys()` and `minimise()`/`describePayload()` from src with the same pseudonymKey, inserted with `unnest` in chunks of 5,000 through `gateway.database.query`; the seeding code is checked to produce exactly the rows the real pipeline wrote for the first 200. The measurement runs in a fresh process (so seeding's memory is not counted): `resync({ dryRun: false })` over the streamed source and `runUntilIdle()`; calls = the sandbox's request count.",
  '4b': 'Wall time of the same `resync()` + `runUntilIdle()`, every adapter configured (7 partners, 700,000 pairs decided).',
  '4c': 'RSS of the gateway process (the sandbox runs in its own), sampled every 100 ms with `process.memoryUsage().rss` during the resync; the figure before it is with the gateway open and idle.',
  '5': "Limits and latency off; every adapter configured. 50 subjects synced for real to E-logistik, Stripe, Intercom and Auth0, then, with the workers running (`gateway.work()`), one erasure after another: time from calling `gateway.erase()` to the gateway calling the host's `erased` hook (which it does when every partner confirmed or never held anything), then checked with `erasureStatus().complete`.",
  '6': 'The highest RSS sample of any process that ran the gateway for this engine (the sandbox processes are not counted).',
};

function markdownTable(rows: readonly Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| # | measure | target | measured | result |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.id} | ${esc(r.measure)} | ${esc(r.target)} | ${esc(r.measured)} | ${r.status === 'MISSED' ? '**MISSED**' : r.status} |`,
    ),
  ].join('\n');
}

function consoleTable(rows: readonly Row[]): string {
  const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  const cols = rows.map((r) => [r.id, cut(r.measure, 70), cut(r.target, 34), cut(r.measured, 80), r.status]);
  const widths = [0, 1, 2, 3, 4].map((i) =>
    Math.max(...cols.map((c) => c[i]!.length), ['#', 'measure', 'target', 'measured', 'result'][i]!.length),
  );
  const line = (c: readonly string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  return [
    line(['#', 'measure', 'target', 'measured', 'result']),
    line(widths.map((w) => '-'.repeat(w))),
    ...cols.map(line),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

const pgUrl = postgresUrl();
const wanted = (process.env.BENCH_ENGINES ?? 'pglite,postgres').split(',');
const pgliteVersion = (
  JSON.parse(readFileSync(here('../node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string }
).version;
const engines: { engine: Engine; label: string }[] = [];
if (wanted.includes('pglite'))
  engines.push({
    engine: 'pglite',
    label: `Embedded: PGlite ${pgliteVersion} (PostgreSQL 17 in WASM), data in a temp directory`,
  });
if (wanted.includes('postgres')) {
  if (pgUrl)
    engines.push({
      engine: 'postgres',
      label: `PostgreSQL ${await postgresVersion(pgUrl).catch((error: Error) => `(unreachable: ${error.message})`)} on this machine`,
    });
  else say('PostgreSQL: not run (set PARTNER_GATEWAY_BENCH_DATABASE_URL or PARTNER_GATEWAY_TEST_DATABASE_URL)');
}

const cpus = os.cpus();
const machine = {
  cpu: cpus[0]?.model ?? 'unknown',
  cores: cpus.length,
  memoryGb: round(os.totalmem() / 1024 ** 3, 1),
  node: process.version,
  platform: `${os.type()} ${os.release()} ${os.arch()}`,
  date: new Date().toISOString(),
};
say(`partner-gateway benchmark: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GiB, Node ${machine.node}`);

const revisionStart = gitRevision();
const results: EngineResults[] = [];
try {
  for (const { engine, label } of engines) results.push(await runEngine(engine, label));
} finally {
  await sweepStores();
}

const allRows = results.map((r) => ({ r, rows: rowsFor(r) }));
const overallPeak = Math.max(0, ...results.flatMap((r) => Object.values(r.outputs).map((o) => o.peakRssMb)));
const elapsed = round((Date.now() - started) / 1000, 0);
for (const { r, rows } of allRows) {
  say(`\n${r.label}\n`);
  say(consoleTable(rows));
}
say(`\nPeak RSS overall (gateway processes): ${fmt(overallPeak)} MB. Total time ${elapsed} s.`);

const revisionEnd = gitRevision();
const withdrawals = results.flatMap((r) =>
  (['limits-declared', 'limits-documented'] as const).flatMap((t) => {
    const lim = r.outputs[t]?.result as LimitsResult | undefined;
    return lim && !lim.skipped
      ? [`${r.engine} ${t === 'limits-declared' ? '2a' : '2b'}: ${lim.suppressed} of ${lim.withdrawals}`]
      : [];
  }),
);
const missed = allRows.flatMap(({ r, rows }) =>
  rows.filter((x) => x.status === 'MISSED' || x.status === 'not measured').map((x) => `${r.engine} ${x.id}`),
);
const md = [
  '# partner-gateway benchmark results',
  '',
  `Generated by \`npm run bench\` (bench/run.ts) on ${machine.date}. Total run time ${elapsed} s.`,
  '',
  '| machine | |',
  '|---|---|',
  `| CPU | ${machine.cpu} |`,
  `| cores | ${machine.cores} |`,
  `| memory | ${machine.memoryGb} GiB |`,
  `| OS | ${machine.platform} |`,
  `| Node | ${machine.node} |`,
  `| engines | ${engines.map((e) => e.label).join('; ') || 'none'} |`,
  `| peak RSS overall | ${fmt(overallPeak)} MB (largest sample of any gateway process; the sandbox runs in processes of its own) |`,
  '',
  "Records are made up and computed from a number (`Given${n}`, `bench${n}@example.test`, `+4670${n}`), streamed by an async generator for `scan()` and computed on demand for `get(id)`. The partner sandbox (`startSandbox`) runs in a child process of its own (bench/sandbox-process.ts), as real partners would: the gateway's event loop, which the embedded database blocks while a query runs, is then not also the partners'. Logger: pino at level silent.",
  '',
  `Targets missed or not measured: ${missed.length === 0 ? 'none' : missed.join(', ')}.`,
  '',
  ...allRows.flatMap(({ r, rows }) => [`## ${r.label}`, '', markdownTable(rows), '']),
  '## How measured',
  '',
  ...Object.entries(HOW).flatMap(([id, text]) => [`**${id}.** ${text}`, '']),
  '## Checks and problems found in src/',
  '',
  `- Source measured: commit ${revisionStart}${revisionEnd !== revisionStart ? ` at the start and ${revisionEnd} at the end (**src changed during the run: figures mix revisions**)` : ''}.`,
  `- Consent withdrawals applied (Mailchimp members suppressed after their withdrawal): ${withdrawals.join('; ') || 'not measured'}.`,
  "- Found by earlier runs of this benchmark and fixed in src since: on PostgreSQL before 17 every partner call failed (`RateLimiter.reserve()` subtracted an infinite timestamp, SQLSTATE 22008; fixed in b818f1c); the latest consent entry was chosen by the text form of its id, so a withdrawal with id 395 lost to a grant with id 95 and 72 of 300 withdrawals were ignored (fixed in c90c018); Stripe, Auth0, Twilio and Mailchimp adapters declared no limits, the rate limiter reserved a whole batch's slots at once with a burst equal to the partner's own allowance and applied Retry-After only after the batch, and Mailchimp resyncs went in batches of 100 (all changed in e5fb854); Twilio (1 call/s, no burst) answered 22% of calls with 429 because a call that left late, behind a busy event loop, let the next one follow in under a second (pacing at 95% and moving the schedule on after a late call: e0a8c28, a3353b5, 82566ed); on PostgreSQL every call leased and freed a concurrency slot row, two statements per call that queued in the pool (a batch now leases its slots at once, 6e68294: about 1,000 -> 1,900 jobs/s).",
  '',
  '## Why the misses (as traced on this machine)',
  '',
  "- **Overhead on PostgreSQL (1a).** The adapters alone (no queue, no database, no log), 100 calls at once per partner straight to the sandbox, reach about 1,500 calls/s on this machine: 0.5 ms of CPU per call in the HTTP clients (axios, the Stripe SDK, Auth0's fetch). Gateway, sandbox and PostgreSQL together use about 0.9 CPU-ms per job, so two cores cap the whole run near 2,100 jobs/s; 3,000/s needs the partners off this machine or more cores for more gateway processes. The gateway on PostgreSQL is faster than the naive loop (ratio in 1b).",
  "- **429s from Auth0 on PGlite (2a), when they occur.** PGlite runs each query inside the gateway's own event loop; under the seven-partner load, in a traced run, one query held it for about a second after an Auth0 call had taken its slot and before the request left, so that call and the next two reached Auth0 within 350 ms and the third got a 429 (2/s, burst 2). The gateway then honours Retry-After and the job completes; on PostgreSQL, where queries do not block the event loop, the same run has no 429.",
  '- **Peak RSS while diffing (4c).** An idle gateway is about 170 MB on PostgreSQL (the partner SDKs loaded) and about 700 MB on PGlite (the WASM PostgreSQL itself). The resync streams the source 1,000 records at a time and keeps no record; the rest is garbage V8 leaves for later under a large heap limit: run with `--max-old-space-size=96`, the same PostgreSQL resync peaks at about 300 MB RSS (JS heap at most 101 MB) and takes 16 s instead of 9.',
  '',
].join('\n');
writeFileSync(here('./RESULTS.md'), md);
say(`Wrote bench/RESULTS.md`);
