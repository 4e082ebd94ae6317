/**
 * The benchmark (`npm run bench`): overhead, limit fidelity, batching, diffing and erasure latency,
 * against the partner sandbox, on the embedded store (PGlite in a temp directory) and, when
 * PARTNER_GATEWAY_BENCH_DATABASE_URL or PARTNER_GATEWAY_TEST_DATABASE_URL is set, on PostgreSQL (a
 * fresh schema per store, dropped after). Prints a table and writes bench/RESULTS.md.
 *
 * Sizes and durations are the constants in the part files, overridable by environment variables
 * (BENCH_SCALE multiplies every count; BENCH_OVERHEAD_SUBJECTS, BENCH_BATCH_MEMBERS,
 * BENCH_DIFF_SUBJECTS (BENCH_DIFF_SUBJECTS_POSTGRES, _PGLITE for one engine), BENCH_ERASURE_SUBJECTS, BENCH_LIMIT_SECONDS, BENCH_LIMIT_INTERCOM_SECONDS,
 * BENCH_LIMIT_LATENCY_MS, BENCH_PROFILE_SUBJECTS, BENCH_SCALEOUT_SUBJECTS set one each).
 * BENCH_ENGINES=pglite (or postgres) runs one engine only. BENCH_PARTS=host,idle,diff (any of
 * overhead, profile, limits, batching, diff, erasure, scaleout, safety, host, idle) runs only those
 * parts and prints their tables without writing RESULTS.md or history.json. BENCH_HOST_STARTS sets
 * the gateways started per process in part 9. Each full run's headline figures are appended to
 * bench/history.json, and RESULTS.md shows the previous run's beside the new ones.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/store/database.ts';
import type { BatchRun } from './batching.ts';
import {
  LIMITS_OFF_MAX_CONCURRENT,
  RESULT_MARK,
  STORE_MARK,
  engineAt,
  percentile,
  postgresUrl,
  round,
  setting,
  type Engine,
  type MemoryBreakdown,
} from './common.ts';
import { diffSubjects, type DiffingResult } from './diffing.ts';
import type { ErasureResult } from './erasure.ts';
import { HOST_STARTS, TWO_PARTNERS, type HostStartResult, type IdleResult } from './host.ts';
import type { SafetyResult } from './safety.ts';
import { INTERCOM_SECONDS, LIMIT_SECONDS, type LimitsResult, type PartnerFidelity } from './limits.ts';
import { loadHistory, previousFigure, saveHistory, type HistoryFigure, type HistoryRun } from './history.ts';
import { GATEWAY_BATCH_SIZE, LOOP_IN_FLIGHT, OVERHEAD_SUBJECTS, type OverheadResult } from './overhead.ts';
import { profileMarkdown, type ProfileResult } from './profile.ts';
import { SCALEOUT_SUBJECTS, type ScaleoutResult } from './scaleout.ts';

/** A child process that runs longer than this is stopped and its parts reported as not measured. */
const CHILD_TIMEOUT_MS = setting('BENCH_CHILD_TIMEOUT_S', 300) * 1000;
const TARGETS = {
  /** Gateway jobs/s over the concurrent hand-written loop's calls/s (issue 16.1). */
  loopRatio: { pglite: 0.9, postgres: 1.0 } as Record<Engine, number>,
  /** Erasure p95 (issue 16.4): PostgreSQL only. */
  erasureP95Ms: { postgres: 100 } as Partial<Record<Engine, number>>,
  rateShare: 90,
  tooManyShare: 1,
  maxConcurrent: 10,
  batchCalls: 25,
  diffCalls: 0,
  /** Wall time of the unchanged resync: 60 s at 1,000,000 subjects (issue 16.3), 30 s below that. */
  diffSeconds: (subjects: number) => (subjects >= 1_000_000 ? 60 : 30),
  diffAtScale: 1_000_000,
  diffRssMb: 300,
  /** A memory gateway ready, after the first in a process (issue 14.3). */
  hostStartMs: 500,
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
    let stopped = false;
    const timer = setTimeout(() => {
      stopped = true;
      say(`  ${engine} ${tasks.join(',')}: stopped after ${CHILD_TIMEOUT_MS / 1000} s`);
      child.kill('SIGKILL');
    }, CHILD_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Say why: a "not measured" line must tell a timeout from a crash (an out-of-memory kill, say).
      const why = stopped
        ? `stopped after BENCH_CHILD_TIMEOUT_S=${CHILD_TIMEOUT_MS / 1000} s`
        : `the process ended first: ${signal ? `signal ${signal}` : `exit code ${code}`}`;
      for (const task of tasks)
        if (!outputs.some((o) => o.task === task))
          outputs.push({ task, error: `not measured (${why})`, seconds: 0, peakRssMb: 0 });
      resolve(outputs);
    });
  });
}

interface EngineResults {
  readonly engine: Engine;
  readonly label: string;
  readonly outputs: Record<string, TaskOutput>;
}

/** The parts, by the names BENCH_PARTS takes; a row's part is the number its id starts with. */
const PARTS = ['overhead', 'profile', 'limits', 'batching', 'diff', 'erasure', 'scaleout', 'safety', 'host', 'idle'];
const partsWanted = process.env.BENCH_PARTS ? process.env.BENCH_PARTS.split(',').map((p) => p.trim()) : PARTS;
for (const part of partsWanted)
  if (!PARTS.includes(part)) throw new Error(`BENCH_PARTS: unknown part ${part}; the parts are ${PARTS.join(', ')}`);
/** Only some parts: the tables are printed, RESULTS.md and history.json are left as the last full run wrote them. */
const partial = partsWanted.length < PARTS.length;
const runs = (part: string) => partsWanted.includes(part);

function partOfRow(id: string): string | undefined {
  const n = Number(/^\d+/.exec(id)?.[0]);
  if (n === 1) return id.startsWith('1e') ? 'profile' : 'overhead';
  return { 2: 'limits', 3: 'batching', 4: 'diff', 5: 'erasure', 7: 'scaleout', 8: 'safety', 9: 'host', 10: 'idle' }[n];
}

async function runEngine(engine: Engine, label: string): Promise<EngineResults> {
  say(`\n== ${label}`);
  const outputs: Record<string, TaskOutput> = {};
  const first = [
    ...(runs('overhead') ? ['overhead'] : []),
    ...(runs('limits') ? ['limits-declared', 'limits-documented'] : []),
    ...(runs('batching') ? ['batching'] : []),
    ...(runs('erasure') ? ['erasure'] : []),
    ...(runs('safety') ? ['safety'] : []),
  ];
  if (first.length) for (const o of await runChild(engine, first)) outputs[o.task] = o;
  // The profile in a process of its own, so nothing of the runs before is in its heap or its JIT state.
  if (runs('profile')) for (const o of await runChild(engine, ['profile'], profileFile(engine))) outputs[o.task] = o;
  if (engine === 'postgres' && runs('scaleout'))
    for (const o of await runChild(engine, ['scaleout'])) outputs[o.task] = o;
  // Memory gateways are PGlite whatever the engine: run once, with the embedded engine.
  if (engine === 'pglite' && runs('host')) {
    // Two fresh processes on one new cache directory: the first finds no template on disk, the second finds it.
    const cacheDir = mkdtempSync(join(tmpdir(), 'partner-gateway-bench-cache-'));
    try {
      for (const i of [1, 2]) for (const o of await runChild(engine, ['host'], cacheDir)) outputs[`host-${i}`] = o;
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  }
  // Each idle gateway in a fresh process, so nothing an earlier part allocated is in its RSS.
  if (runs('idle'))
    for (const n of [2, 7]) for (const o of await runChild(engine, ['idle'], String(n))) outputs[`idle-${n}`] = o;
  if (runs('diff')) await runDiff(engine, outputs);
  return { engine, label, outputs };
}

async function runDiff(engine: Engine, outputs: Record<string, TaskOutput>): Promise<void> {
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
}

/** Where the profile of an engine's overhead workload is kept (git-ignored by name: *.cpuprofile). */
const profileFile = (engine: Engine) => join(tmpdir(), `partner-gateway-bench-overhead-${engine}.cpuprofile`);

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
  /** The line's headline figure for the history, under a key that outlives renumbering. */
  readonly figure?: { readonly key: string } & Omit<HistoryFigure, 'status'>;
  /** For a miss: what the profile or the trace says holds it back. */
  readonly why?: string;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const met = (ok: boolean): Status => (ok ? 'met' : 'MISSED');
const figure = (key: string, value: number, unit: string) => ({ key, value, unit });

function rowsFor(r: EngineResults): Row[] {
  const rows: Row[] = [];
  const o = r.outputs;
  const missing = (id: string, measure: string, target: string, out: TaskOutput | undefined) =>
    rows.push({ id, measure, target, measured: out?.error ?? 'not measured', status: 'not measured' });
  const prof = o.profile?.result as ProfileResult | undefined;

  // 1. Overhead
  const ov = o.overhead?.result as OverheadResult | undefined;
  const ratioTarget = TARGETS.loopRatio[r.engine];
  if (ov) {
    const status = met(ov.loopRatio >= ratioTarget && ov.notCompleted === 0);
    rows.push({
      id: '1a',
      measure: `Overhead: gateway jobs/s / concurrent hand-written loop calls/s, side by side (${fmt(ov.subjects)} subjects × ${ov.partners.length} partners, limits and latency off)`,
      target: `>= ${fmt(ratioTarget, 1)}`,
      measured: `${ov.loopRatio} (gateway ${fmt(ov.jobsPerSecond)} jobs/s: ${fmt(ov.jobs)} jobs in ${ov.seconds} s, ${fmt(ov.partnerRequests)} partner requests${ov.notCompleted ? `, ${ov.notCompleted} jobs not completed` : ''}; loop ${fmt(ov.loopCallsPerSecond)} calls/s; CPU of the process: gateway ${ov.cpuMsPerJob} ms per job, loop ${ov.loopCpuMsPerCall} ms per call)`,
      status,
      figure: figure('overhead.loopRatio', ov.loopRatio, '× loop'),
      ...(status === 'MISSED' ? { why: overheadWhy(r.engine, ov, prof) } : {}),
    });
    rows.push({
      id: '1b',
      measure: `Reference: concurrent loop, adapter.upsert with ${ov.loopInFlight} calls in flight per partner, the ${ov.partners.length} partners at once (the gateway's in-flight cap here), no queue, no log`,
      target: '(reference)',
      measured: `${fmt(ov.loopCallsPerSecond)} calls/s (${fmt(ov.loopCalls)} calls in ${ov.loopSeconds} s)`,
      status: 'n/a',
      figure: figure('overhead.loopCallsPerSecond', ov.loopCallsPerSecond, 'calls/s'),
    });
    rows.push({
      id: '1c',
      measure: 'Reference: sequential loop, one adapter.upsert at a time, no queue, no log',
      target: '(reference)',
      measured: `${fmt(ov.baselineCallsPerSecond)} calls/s (${fmt(ov.baselineCalls)} calls in ${ov.baselineSeconds} s); gateway / sequential = ${ov.ratio}`,
      status: 'n/a',
      figure: figure('overhead.sequentialCallsPerSecond', ov.baselineCallsPerSecond, 'calls/s'),
    });
    rows.push({
      id: '1d',
      measure: 'Gateway reconcile jobs/s in 1a (resync start to idle)',
      target: '(reference)',
      measured: `${fmt(ov.jobsPerSecond)} jobs/s (resync itself ${ov.resyncSeconds} s)`,
      status: 'n/a',
      figure: figure('overhead.jobsPerSecond', ov.jobsPerSecond, 'jobs/s'),
    });
  } else {
    missing('1a', 'Overhead: gateway / concurrent loop', `>= ${fmt(ratioTarget, 1)}`, o.overhead);
    missing('1b', 'Reference: concurrent loop', '(reference)', o.overhead);
    missing('1c', 'Reference: sequential loop', '(reference)', o.overhead);
  }
  if (prof)
    rows.push({
      id: '1e',
      measure: `Profile: gateway CPU per job (the 1a workload at ${fmt(prof.subjects)} subjects under the V8 profiler)`,
      target: '(reference)',
      measured: `${prof.cpuMsPerJob} CPU-ms per job${prof.statements ? `; ${prof.statements.perBatch} statements per batch of 100 jobs` : ''}; top: ${prof.callers
        .slice(0, 3)
        .map((c) => `${c.name} ${c.share}%`)
        .join(', ')} (see "Profile")`,
      status: 'n/a',
      figure: figure('profile.cpuMsPerJob', prof.cpuMsPerJob, 'CPU-ms/job'),
    });
  else missing('1e', 'Profile of the overhead workload', '(reference)', o.profile);

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
    lim.partners.forEach((p, i) =>
      rows.push(limitRow(`2${tag}.${i + 1}`, p, variantText, lim, tag === 'a' ? 'declared' : 'documented', r.engine)),
    );
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
      figure: figure('batching.calls', b.calls, 'calls'),
    });
    if (b.forced)
      rows.push({
        id: '3b',
        measure: `Forced resync of the same ${fmt(b.members)} members: each sent again (a plain update goes alone: the batch endpoint would overwrite its status), every link updated`,
        target: '(reference)',
        measured: `${b.forced.seconds} s, ${fmt(b.forced.calls)} calls, ${fmt(b.forced.updated)} links updated`,
        status: 'n/a',
        figure: figure('batching.forcedSeconds', b.forced.seconds, 's'),
      });
  } else missing('3', 'Batching: Mailchimp calls for a resync', `<= ${TARGETS.batchCalls} calls`, o.batching);

  // 4. Diffing
  const d = o['diff-measure']?.result as DiffingResult | undefined;
  if (d) {
    const what = `resync of ${fmt(d.subjects)} unchanged subjects`;
    const key = `diff.${d.subjects}`;
    const seconds = TARGETS.diffSeconds(d.subjects);
    rows.push({
      id: '4a',
      measure: `Diffing: partner calls, ${what}`,
      target: `${TARGETS.diffCalls} calls`,
      measured: `${fmt(d.partnerCalls)} calls (${fmt(d.enqueued)} jobs enqueued, ${fmt(d.unchanged)} pairs unchanged)`,
      status: met(d.partnerCalls === TARGETS.diffCalls && d.enqueued === 0),
      figure: figure(`${key}.calls`, d.partnerCalls, 'calls'),
    });
    rows.push({
      id: '4b',
      measure: `Diffing: wall time, ${what}`,
      target: `<= ${seconds} s`,
      measured: `${d.seconds} s (resync ${d.resyncSeconds} s; ${fmt(d.unchanged / d.resyncSeconds)} pairs/s; seeding ${d.seedSeconds} s)`,
      status: met(d.seconds <= seconds),
      figure: figure(`${key}.seconds`, d.seconds, 's'),
      ...(d.seconds <= seconds
        ? {}
        : {
            why: `the resync plans every (subject, partner) pair in the gateway process: ${fmt(d.unchanged / d.resyncSeconds)} pairs/s here; at ${fmt(TARGETS.diffAtScale)} subjects × 7 partners that is about ${fmt((TARGETS.diffAtScale * 7) / (d.unchanged / d.resyncSeconds))} s`,
          }),
    });
    const rssStatus = met(d.peakRssMb <= TARGETS.diffRssMb);
    rows.push({
      id: '4c',
      measure: `Diffing: peak RSS of the gateway process, ${what}`,
      target: `<= ${TARGETS.diffRssMb} MB`,
      measured: `${fmt(d.peakRssMb)} MB (${fmt(d.rssBeforeMb)} MB with the gateway open and idle, before the resync; JS heap in use at most ${fmt(d.peakHeapMb)} MB; at the peak: ${breakdownText(d.atPeak)})`,
      status: rssStatus,
      figure: figure(`${key}.peakRssMb`, d.peakRssMb, 'MB'),
      ...(rssStatus === 'MISSED' ? { why: diffRssWhy(r.engine, d) } : {}),
    });
    if (d.subjects < TARGETS.diffAtScale)
      rows.push({
        id: '4d',
        measure: `Diffing at scale: resync of ${fmt(TARGETS.diffAtScale)} unchanged subjects (7 partners): 0 calls, wall time, peak RSS`,
        target: `0 calls, <= ${TARGETS.diffSeconds(TARGETS.diffAtScale)} s, <= ${TARGETS.diffRssMb} MB`,
        measured: `not measured in this run: it ran ${fmt(d.subjects)} subjects (BENCH_DIFF_SUBJECTS_${r.engine.toUpperCase()}=${TARGETS.diffAtScale} runs it; seeding alone would take about ${fmt((d.seedSeconds * TARGETS.diffAtScale) / Math.max(1, d.seeded))} s at this run's rate)`,
        status: 'not measured',
      });
  } else {
    const out = o['diff-measure']?.error ? o['diff-measure'] : o['diff-seed'];
    missing(
      '4',
      'Diffing: resync of unchanged subjects',
      `${TARGETS.diffCalls} calls, <= ${TARGETS.diffSeconds(0)} s, <= ${TARGETS.diffRssMb} MB`,
      out,
    );
  }

  // 5. Erasure
  const e = o.erasure?.result as ErasureResult | undefined;
  const p95Target = TARGETS.erasureP95Ms[r.engine];
  if (e) {
    const status: Status = !e.allComplete ? 'MISSED' : p95Target === undefined ? 'n/a' : met(e.p95Ms <= p95Target);
    rows.push({
      id: '5',
      measure: `Erasure latency: erase() to every partner confirmed, ${e.subjects} subjects held at 4 partners (${e.partners} adapters), limits off`,
      target: p95Target === undefined ? '(no target on this engine: p50, p95)' : `p95 <= ${p95Target} ms`,
      measured: `p50 ${fmt(e.p50Ms)} ms, p95 ${fmt(e.p95Ms)} ms, max ${fmt(e.maxMs)} ms${e.allComplete ? '' : '; NOT all complete'}; ${fmt(e.cpuMsPerErasure)} CPU-ms${e.statementsPerErasure === null ? '' : `, ${fmt(e.statementsPerErasure)} statements`} per erasure`,
      status,
      figure: figure('erasure.p95Ms', e.p95Ms, 'ms p95'),
      ...(status === 'MISSED'
        ? {
            why: e.allComplete
              ? 'an erasure is one job per partner (7), each a batch of its own: intent transaction, the call, outcome transaction, then the completeness check; the workers pick the jobs up on notify or at the next poll (not profiled on its own: the same per-batch path as 1e, one batch per partner per erasure)'
              : 'some erasures did not complete: a correctness problem, not a speed one',
          }
        : {}),
    });
  } else missing('5', 'Erasure latency', p95Target === undefined ? '(no target)' : `p95 <= ${p95Target} ms`, o.erasure);

  // 8. Safety: the deletion limit
  const sf = o.safety?.result as SafetyResult | undefined;
  if (sf) {
    const ok = sf.refused && sf.partnerCalls === 0 && sf.missingNoted === 0 && sf.stillHeld === sf.subjects;
    rows.push({
      id: '8',
      measure: `Safety: resync of ${fmt(sf.subjects)} subjects whose source lost ${fmt(sf.lost)} (30%), beside a dry run`,
      target: 'deletes nothing, reports the limit, about the time of a dry run',
      measured:
        `${sf.refused ? 'refused' : 'NOT refused'} (limit: more than ${sf.limit.count} or ${Math.round(sf.limit.share * 100)}%); ` +
        `${sf.partnerCalls} partner calls, ${sf.enqueued} jobs, ${sf.missingNoted} noted missing, ${fmt(sf.stillHeld)} still held; ` +
        `resync ${sf.resyncSeconds} s, dry run ${sf.dryRunSeconds} s`,
      status: ok ? 'met' : 'MISSED',
    });
  } else missing('8', 'Safety: resync with 30% of the records lost', 'deletes nothing', o.safety);

  // The host part's process opens many memory gateways one after another: line 9 reports it apart.
  const peak = Math.max(
    0,
    ...Object.entries(o)
      .filter(([task]) => !task.startsWith('host-'))
      .map(([, x]) => x.peakRssMb),
  );
  rows.push({
    id: '6',
    measure: "Peak RSS of any gateway process in this engine's runs",
    target: '(reference)',
    measured: `${fmt(peak)} MB`,
    status: 'n/a',
    figure: figure('peakRssMb', peak, 'MB'),
  });

  // 7. Scale-out (PostgreSQL)
  if (r.engine === 'postgres') {
    const so = o.scaleout?.result as ScaleoutResult | undefined;
    if (so) {
      const one = so.runs.find((x) => x.processes === 1);
      so.runs.forEach((x, i) =>
        rows.push({
          id: `7${String.fromCharCode(97 + i)}`,
          measure: `Scale-out: the 1a workload (${fmt(so.subjects)} subjects × 4 partners) worked by ${x.processes} worker process${x.processes > 1 ? 'es' : ''} on one PostgreSQL`,
          target: '(reference: jobs/s; time waiting on locks)',
          measured: `${fmt(x.jobsPerSecond)} jobs/s (${fmt(x.jobs)} jobs in ${x.seconds} s${one && x !== one ? `; ${round(x.jobsPerSecond / one.jobsPerSecond, 2)}× one process` : ''}${x.notCompleted ? `; ${x.notCompleted} not completed` : ''}; ${x.cpuMsPerJob} worker CPU-ms per job); lock waits ${x.lockSeconds} of ${x.activeSeconds} connection-s active${x.lockedStatements.length ? ` (${x.lockedStatements.map((w) => `${w.event} ${w.seconds} s`).join(', ')})` : ''}; top waits: ${x.waits.map((w) => `${w.event} ${w.seconds} s`).join(', ') || 'none'}`,
          status: x.notCompleted === 0 ? 'n/a' : 'MISSED',
          figure: figure(`scaleout.${x.processes}.jobsPerSecond`, x.jobsPerSecond, 'jobs/s'),
        }),
      );
    } else missing('7', 'Scale-out: 1, 2, 4 worker processes', '(reference)', o.scaleout);
  }

  if (r.engine === 'pglite') rows.push(...hostRows(o));
  rows.push(...idleRows(o));
  return rows;
}

/** 9: memory gateways as a host's test suite starts them (issue 14.3). */
function hostRows(o: Record<string, TaskOutput>): Row[] {
  const outs = [o['host-1'], o['host-2']];
  const results = outs.map((x) => x?.result as HostStartResult | undefined);
  // Each process says what it found in the cache directory: the first should find none, the second one.
  const absent = results.find((x) => x?.cache === 'absent');
  const present = results.find((x) => x?.cache === 'present');
  if (!absent || !present) {
    const out = outs.find((x) => x?.error);
    return [
      {
        id: '9',
        measure: 'Host: memory gateway start',
        target: `<= ${TARGETS.hostStartMs} ms after the first`,
        measured: out?.error ?? 'not measured (no process found the cache directory empty, or none found it filled)',
        status: 'not measured',
      },
    ];
  }
  const later = [...absent.laterMs, ...present.laterMs];
  const database = [...absent.databaseMs, ...present.databaseMs];
  const p50 = percentile(later, 50);
  const p95 = percentile(later, 95);
  const status = met(p95 <= TARGETS.hostStartMs);
  return [
    {
      id: '9a',
      measure: `Host: \`createTestGateway()\` (memory database, 7 adapters) ready, the starts after the first in a process (${later.length} starts, ${HOST_STARTS} per process in 2 processes)`,
      target: `p95 <= ${TARGETS.hostStartMs} ms`,
      measured: `median ${fmt(p50)} ms, p95 ${fmt(p95)} ms, max ${fmt(Math.max(...later))} ms; \`openDatabase({ memory: true })\` alone: median ${fmt(percentile(database, 50))} ms; stop() median ${fmt(percentile([...absent.stopMs, ...present.stopMs], 50))} ms; peak RSS of the process ${fmt(Math.max(...outs.map((x) => x!.peakRssMb)))} MB`,
      status,
      figure: figure('host.laterStartP95Ms', p95, 'ms p95'),
      ...(status === 'MISSED'
        ? {
            why: `the database is the start: \`openDatabase({ memory: true })\` alone takes a median ${fmt(percentile(database, 50))} ms of the gateway's ${fmt(p50)} ms (a new PGlite, its WASM instantiated and the migrated template's data directory loaded from the in-process dump, src/store/memory-template.ts \`start\`); pg-boss's start and the rest are the difference. Measured with the machine's 2 cores shared (load in the table above)`,
          }
        : {}),
    },
    {
      id: '9b',
      measure:
        'Host: the first memory gateway of a process, no template in the cache directory (initdb, migrations, the dump written to disk)',
      target: '(reference)',
      measured: `${fmt(absent.firstMs)} ms`,
      status: 'n/a',
      figure: figure('host.firstStartNoCacheMs', absent.firstMs, 'ms'),
    },
    {
      id: '9c',
      measure: 'Host: the first memory gateway of a process, the template cached on disk by an earlier process',
      target: '(reference)',
      measured: `${fmt(present.firstMs)} ms`,
      status: 'n/a',
      figure: figure('host.firstStartCachedMs', present.firstMs, 'ms'),
    },
  ];
}

/** 10: RSS of an idle gateway with 2 and with 7 partners configured (issue 14.4). */
function idleRows(o: Record<string, TaskOutput>): Row[] {
  return [2, 7].map((n, i) => {
    const id = `10${String.fromCharCode(97 + i)}`;
    const out = o[`idle-${n}`];
    const idle = out?.result as IdleResult | undefined;
    const measure = `Idle RSS: a gateway with ${n} partners configured (${n === 2 ? TWO_PARTNERS.join(', ') : 'all'}), workers started, nothing to do, after GC settled`;
    if (!idle)
      return { id, measure, target: '(reference)', measured: out?.error ?? 'not measured', status: 'not measured' };
    return {
      id,
      measure,
      target: '(reference)',
      measured: `${fmt(idle.settled.rssMb)} MB (${breakdownText(idle.settled)}; ${fmt(idle.started.rssMb)} MB right after work())`,
      status: 'n/a',
      figure: figure(`idle.${n}.rssMb`, idle.settled.rssMb, 'MB'),
    };
  });
}

const breakdownText = (m: MemoryBreakdown) =>
  `JS heap ${fmt(m.heapUsedMb)} MB used of ${fmt(m.heapTotalMb)} MB, external ${fmt(m.externalMb)} MB${m.wasmMb !== undefined ? ` (of which PGlite's WASM memory ${fmt(m.wasmMb)} MB)` : ''}, array buffers ${fmt(m.arrayBuffersMb)} MB, the rest (code, stacks, native) ${fmt(Math.max(0, m.rssMb - m.heapTotalMb - m.externalMb))} MB`;

/** What the process.memoryUsage() breakdown at the diffing peak says holds it. */
function diffRssWhy(engine: Engine, d: DiffingResult): string {
  const p = d.atPeak;
  const native = Math.max(0, p.rssMb - p.heapTotalMb - p.externalMb);
  const parts = `at the peak: ${breakdownText(p)}; the heap in use reached ${fmt(d.peakHeapMb)} MB during the resync and is ${fmt(d.afterGc.heapUsedMb)} MB after it and a full GC, so up to ${fmt(Math.max(0, d.peakHeapMb - d.afterGc.heapUsedMb))} MB of it was garbage`;
  return engine === 'pglite'
    ? `PGlite holds it, not the resync: ${fmt(d.rssBeforeMb)} MB before the resync began; ${parts}. PGlite's WASM memory (${fmt(p.wasmMb ?? 0)} MB) and the ${fmt(native)} MB outside both heaps (native memory: V8's code for PGlite's WebAssembly among it) are more than the target by themselves`
    : `${fmt(d.rssBeforeMb)} MB with the gateway idle before the resync; ${parts}: V8 grows the heap to ${fmt(p.heapTotalMb)} MB rather than collect sooner, and ${fmt(native)} MB is native memory outside both heaps (code, stacks, allocations by Node and its addons: not broken down further here)`;
}

/** What the profile says holds the gateway back against the concurrent loop. */
function overheadWhy(engine: Engine, ov: OverheadResult, prof: ProfileResult | undefined): string {
  const cpu = `in 1a the gateway process used ${ov.cpuMsPerJob} CPU-ms per job against the loop's ${ov.loopCpuMsPerCall} per call, on 2 cores that the sandbox${engine === 'postgres' ? ' and PostgreSQL' : ''} share`;
  if (!prof) return `${cpu}; no profile in this run`;
  const own = prof.callers.filter((c) => c.name.startsWith('gateway:'));
  const ownShare = round(
    own.reduce((sum, c) => sum + c.share, 0),
    1,
  );
  const clients = round(
    prof.callers.filter((c) => c.name.startsWith('HTTP clients')).reduce((sum, c) => sum + c.share, 0),
    1,
  );
  const db = round(
    prof.callers.filter((c) => /^(pg client|pg-boss|PGlite)/.test(c.name)).reduce((sum, c) => sum + c.share, 0),
    1,
  );
  return (
    `${cpu}. The profile (${fmt(prof.subjects)} subjects, ${prof.cpuMsPerJob} CPU-ms per job): of the gateway process's CPU, the HTTP clients (the same work as the loop's) ${clients}%, ` +
    `the store and queue (${engine === 'pglite' ? 'PGlite, in this process' : 'pg wire protocol and pg-boss'}) ${db}%, the gateway's own code ${ownShare}% (${own
      .slice(0, 4)
      .map((c) => `${c.name.slice('gateway: '.length)} ${c.share}%`)
      .join(', ')})` +
    (prof.statements ? `, ${prof.statements.perBatch} statements per batch of 100 jobs` : '') +
    '; the loop does only the HTTP part. See "Cuts in the gateway\'s own code"'
  );
}

function limitRow(
  id: string,
  p: PartnerFidelity,
  variantText: string,
  lim: LimitsResult,
  variant: 'declared' | 'documented',
  engine: Engine,
): Row {
  const tooMany = `429: ${p.tooManyShare}% (${p.tooMany} of ${p.requests})`;
  const key = `limits.${variant}.${p.partner}`;
  if (p.maxConcurrent !== null) {
    return {
      id,
      measure: `Limit fidelity, ${variantText}: ${p.partner} (${p.limit}; gateway: ${p.gatewayLimit})`,
      target: `peak <= ${p.maxConcurrent} concurrent, <= ${TARGETS.tooManyShare}% 429`,
      measured: `peak ${p.peakConcurrency} of ${p.maxConcurrent} concurrent; ${tooMany}; ${lim.suppressed} of ${lim.withdrawals} withdrawals took effect`,
      status: met(p.peakConcurrency <= p.maxConcurrent && p.tooManyShare <= TARGETS.tooManyShare),
      figure: figure(key, p.peakConcurrency, 'peak concurrent'),
    };
  }
  const rate =
    p.fullestWindow !== null
      ? `${p.rateShare ?? 'n/a'}% of the window (${fmt(p.fullestWindow)} accepted in the fullest whole 10 s window; ${p.steadyPerSecond ?? 'n/a'}/s accepted from second 1 to ${INTERCOM_SECONDS})`
      : p.rateShare === null
        ? 'rate n/a (no request)'
        : `${p.rateShare}% of the limit (${p.steadyPerSecond}/s accepted from second 1 to ${LIMIT_SECONDS})`;
  const status = met((p.rateShare ?? 0) >= TARGETS.rateShare && p.tooManyShare <= TARGETS.tooManyShare);
  return {
    id,
    measure: `Limit fidelity, ${variantText}: ${p.partner} (${p.limit}; gateway: ${p.gatewayLimit})`,
    target: `>= ${TARGETS.rateShare}% of limit, <= ${TARGETS.tooManyShare}% 429`,
    measured: `${rate}; ${tooMany}; ${p.windowSeconds} s`,
    status,
    ...(p.rateShare !== null ? { figure: figure(key, p.rateShare, '% of limit') } : {}),
    ...(status === 'MISSED'
      ? {
          why:
            engine === 'pglite'
              ? 'PGlite runs every query on the gateway\'s own event loop: a query that holds it between a call taking its rate slot and the request leaving sends that call late, so it and the next ones reach the partner bunched (a 429, then a Retry-After pause that costs rate); see "Limit fidelity on PGlite (16.2)"'
              : 'no trace for this engine in this run: see the sandbox request log for the bunched requests',
        }
      : {}),
  };
}

const HOW: Record<string, string> = {
  '1a':
    "A fresh sandbox (its own process; limits and latency off) and a fresh store; every adapter is configured and the gateway's `limits` override every partner to no `perSecond` and `maxConcurrent` " +
    (LIMITS_OFF_MAX_CONCURRENT > 0 ? fmt(LIMITS_OFF_MAX_CONCURRENT) : 'unset') +
    ' (on PostgreSQL a set `maxConcurrent` is kept across processes with leased slot rows, two statements per batch). `gateway.resync()` over a streamed source of N new subjects, then `runUntilIdle()`; jobs/s = jobs enqueued / time from the start of `resync()` to the end of `runUntilIdle()`. The jobs are the sync partners that need no consent (E-logistik, Stripe, Intercom, Auth0 creating users); one intent and one outcome row, one partner call each. "Not completed" counts jobs without an ok outcome when the queues went idle.',
  '1b': `The hand-written loop a host would write instead, against a fresh sandbox of its own, in the same process before the gateway run: for every partner at once, ${LOOP_IN_FLIGHT} lanes each taking the next record, parsing and minimising it and awaiting \`adapter.upsert()\`: no queue, no database, no transfer log. ${LOOP_IN_FLIGHT} in flight per partner is the gateway's own cap in 1a: its worker per partner takes batches of ${GATEWAY_BATCH_SIZE} jobs (src/workers.ts, \`batchSizeOf\`: at least 100; the sync partners have no \`upsertBatch\`), one batch at a time for a partner without a rate (\`concurrency\` 1), and runs a batch's calls at once up to \`maxConcurrent\` (src/transfer/pacing.ts; ${fmt(LIMITS_OFF_MAX_CONCURRENT)} here), the four partners' workers side by side. BENCH_LOOP_IN_FLIGHT sets another figure. 1a is the gateway's jobs/s over this loop's calls/s.`,
  '1c': "The same loop with one call at a time (for each partner, for each record), as the reference line the benchmark had before; the ratio is the gateway's jobs/s over its calls/s.",
  '1e': "The 1a workload once more, in a fresh process, at BENCH_PROFILE_SUBJECTS subjects (default 500), after a 20-subject warm-up run (so lazily loaded modules and cold code are not in it), under V8's CPU profiler started through the inspector when the resync starts and stopped when the queues are idle (the same sampling profiler as `node --cpu-prof`, sampling every 0.5 ms). CPU-ms per job = sampled time that is not idle / jobs. On PostgreSQL every statement the process sends (gateway and pg-boss share the `pg` module) is counted by its shape, per batch of 100 jobs. `npm run bench:profile` does this alone and keeps the .cpuprofile for Chrome DevTools.",
  '2a': "The sandbox (its own process) enforces each partner's documented limit and answers with the partner's own 429; every request gets a latency of 20-60 ms (uniform) so that requests overlap as with real partners. The gateway keeps only the limits the adapters declare. One window for all partners at once: each sync partner gets (limit × 8 s) resync jobs (Intercom: limit × 20 s, so that one whole 10-second window lies inside the run), Twilio gets sequential `gateway.call(subject, 'alarm', {twiml})` for 8 s, Mailchimp gets a consent withdrawal for each of 300 members subscribed before the window (suppress calls go one call each, so concurrency shows). Clients are warmed up first with one subject synced everywhere and one alarm call. From the sandbox's request log (only the requests each limit counts: Auth0's Management API, Twilio's call creations): rate = requests accepted from 1 s after the partner's first request (the partners allow one second's worth as a burst) to 8 s after it (the workload lasts 8 s at the limit), per second, as a share of the limit (so a job that got a 429 and waits out its retry backoff costs rate); for Intercom, the accepted requests in the fullest whole window as a share of 1,667; 429 share = requests answered 429 / requests. Mailchimp: peak concurrency from the sandbox's stats (`peakConcurrency`, in-flight requests as sent) against 10.",
  '2b': 'As 2a, but the host configures (gateway option `limits`) the documented limits (Stripe 25/s, Auth0 2/s, Twilio 1/s, Mailchimp 10 concurrent) for the partners whose adapters declare other limits; only those run, and the variant is skipped when every adapter declares the documented limits.',
  '3': "A gateway with only the Mailchimp adapter and default options (no `batchSize` given, unless BENCH_BATCH_SIZE), limits off. 10,000 members get marketing consent through `gateway.consent.grant()` (8 at a time; the time is reported apart, and each grant also enqueues the member's job), then `resync({ partner: 'mailchimp' })` and `runUntilIdle()`; calls = the sandbox's request count for Mailchimp from the resync on. \"Subscribed\" counts Mailchimp links holding the consent grant afterwards.",
  '3b': "After line 3, in the same gateway: `resync({ partner: 'mailchimp', force: true })` and `runUntilIdle()`, timed on their own. Every member is sent again, one PUT each (only a consent grant rides in Mailchimp's batch call, which writes the status over the member's), and each worker batch's outcomes update links that exist (the upsert's conflict path, which line 3's new links never take). \"Updated\" counts Mailchimp links holding whose last send is from this resync.",
  '4a': `BENCH_DIFF_SUBJECTS subjects (default 100,000; BENCH_DIFF_SUBJECTS_POSTGRES or _PGLITE for one engine; the size each engine ran is in its rows). Syncing them for real would not fit the time budget, so: the first 200 subjects are synced for real through the pipeline (resync + runUntilIdle), and the others are seeded into \`links\` with the digests and field lists the gateway stores, computed with \`createKeys()\` and \`minimise()\`/\`describePayload()\` from src with the same pseudonymKey, inserted with \`unnest\` in chunks of 5,000 through \`gateway.database.query\`; the seeding code is checked to produce exactly the rows the real pipeline wrote for the first 200. The measurement runs in a fresh process (so seeding's memory is not counted): \`resync({ dryRun: false })\` over the streamed source and \`runUntilIdle()\`; calls = the sandbox's request count.`,
  '4b': 'Wall time of the same `resync()` + `runUntilIdle()`, every adapter configured (7 partners: 7 pairs decided per subject). Target 30 s below 1,000,000 subjects, 60 s at 1,000,000 (issue 16.3).',
  '4c': "RSS of the gateway process (the sandbox runs in its own), sampled every 100 ms with `process.memoryUsage().rss` during the resync; the figure before it is with the gateway open and idle. The breakdown is `process.memoryUsage()` at the sample with the highest RSS (heap used and reserved, external, array buffers; PGlite's WASM linear memory, part of external, read at the end since it only grows), and the heap in use after the resync and a full GC (the peak's heap minus that was garbage).",
  '5': "Target (issue 16.4): p95 <= 100 ms on PostgreSQL; PGlite is reported without one. Limits and latency off; every adapter configured. 50 subjects synced for real to E-logistik, Stripe, Intercom and Auth0, then, with the workers running (`gateway.work()`), one erasure after another: time from calling `gateway.erase()` to the gateway calling the host's `erased` hook (which it does when every partner confirmed or never held anything), then checked with `erasureStatus().complete`.",
  '4d': 'The 4a-4c measurement at 1,000,000 subjects (BENCH_DIFF_SUBJECTS=1000000, or BENCH_DIFF_SUBJECTS_POSTGRES=1000000 for PostgreSQL alone; with its 60 s target); the default run keeps 100,000 so that `npm run bench` ends in minutes.',
  '7': `PostgreSQL only. For 1, 2 and 4 worker processes (BENCH_SCALEOUT_PROCESSES): a fresh store and sandbox; this process enqueues the 1a workload (${fmt(SCALEOUT_SUBJECTS)} subjects × 4 partners, one resync), then the worker processes (bench/scaleout-worker.ts) open the gateway on the same schema and, all ready, are told to go at once and each runs \`runUntilIdle()\`; jobs/s = jobs / time from go to the last worker idle (the resync is not in it, unlike 1a). Meanwhile pg_stat_activity is sampled every 50 ms for the workers' connections (by application_name): connection-s active, waiting on heavyweight locks (Lock:*: rows, transactions; what would serialise workers) and the statements that waited, by shape. Slots: \`maxConcurrent\` ${fmt(LIMITS_OFF_MAX_CONCURRENT)} per partner is kept with leased slot rows taken SKIP LOCKED, and at most 4 × ${GATEWAY_BATCH_SIZE} are leased at once, so no worker can wait for a slot here.`,
  '6': "The highest RSS sample of any process that ran the gateway for this engine (the sandbox processes are not counted; nor is part 9's process, which reports its own).",
  '9': `PGlite (memory gateways are embedded whatever the engine). In a fresh process, \`createTestGateway()\` from partner-gateway/testing (\`database: { memory: true }\`, all 7 adapters pointed at the sandbox, an empty source) awaited and then stopped, ${HOST_STARTS} times (BENCH_HOST_STARTS); start = the time \`createTestGateway()\` takes to resolve, what a host's \`beforeEach\` awaits. Then \`openDatabase({ memory: true })\` alone as many times, for the store's share. Two such processes on one new template cache directory (PARTNER_GATEWAY_CACHE_DIR): the first finds none and builds the template (9b), the second loads it from disk (9c); 9a is the starts after the first of both processes. Target (issue 14.3): ready in <= 500 ms after the first, taken as the p95.`,
  '10': `Each in a fresh process of its own (so no earlier part's memory is in it): a fresh store, \`createGateway()\` with ${TWO_PARTNERS.join(' and ')} (10a) or all 7 partners' adapters (10b) pointed at the sandbox, \`work()\` (every worker polling), 3 s of idle polling, then a full GC and 1 s, repeated until two RSS samples are within 1 MB (at most 10 rounds). The breakdown is \`process.memoryUsage()\`, and on PGlite its WASM linear memory. The adapters load their SDK (Stripe, Auth0, Twilio) on their first call, so an idle gateway holds none.`,
};

/** The previous run's figure for a row, with the change, or why there is none. */
function previousText(engine: Engine, row: Row): string {
  if (!row.figure) return '';
  const prev = previousFigure(history, engine, row.figure.key);
  if (!prev) return '(none)';
  const { value, unit, status } = prev.figure;
  const change =
    value !== 0 && unit === row.figure.unit
      ? ` (${row.figure.value >= value ? '+' : ''}${round((100 * (row.figure.value - value)) / value, 0)}%)`
      : '';
  return `${fmt(value, value < 10 ? 3 : value < 100 ? 1 : 0)} ${unit}, ${status}${change}; ${prev.run.date.slice(0, 10)} ${prev.run.revision}`;
}

/** Cuts in the gateway's own code the profile points at (as read from the profiles on this machine). */
const CUTS: readonly string[] = [
  "### Cuts in the gateway's own code the profiles point at (not made: src/ is owned elsewhere)",
  '',
  "Read from the 1e profiles and their call trees on this machine. The gateway's own code (every `gateway:` area together) is a small share of the gateway process's CPU; the HTTP clients (the same work the hand-written loop does), the pg wire protocol or PGlite, and Node's I/O and garbage collector are the rest. So no cut in src/ alone brings 1a to its target on these 2 cores; these are the clear, safe ones:",
  '',
  "- **PGlite on a thread of its own** (src/store/database.ts `openPglite`/`wrapPglite`, src/schedule/boss.ts `fromPglite`): PGlite is about 45% of the gateway process's CPU on PGlite (the largest calling area), and it runs on the gateway's event loop. Hosted in a `worker_threads` worker behind the same `Sql`/`Database` surface (pg-boss's `fromPglite` needs only `query`, `exec` and `listen`), it runs on the second core while the loop makes calls: the expected gain is most of that share on a 2-core machine, and it is also the fix for 16.2 (below). Cost: one message round trip per statement (about 29 per batch of 100 jobs) and a mutex in the worker for `transaction()`.",
  "- **One AbortController per batch instead of `AbortSignal.any` over every job's signal** (src/schedule/schedule.ts, the `AbortSignal.any([...jobs.map((job) => job.signal), ...batchDeadline(...)])` in `work`): Node re-walks all 100+ source signals each time `.aborted` is read on a composite signal (`refreshCompositeSignal`), and every call reads it several times (src/transfer/transfer.ts `if (signal?.aborted)`, axios twice, the listener axios adds, the Auth0 SDK's `anySignal`). About 2% of the gateway process's CPU; a controller aborted by a once-listener on each job signal and by the deadline timer reads in O(1). Same behaviour (the batch stops when any claim is lost or the deadline nears).",
  "- **`erasedAmong` HMACs every subject on every call** (src/store/erased.ts:19, `ids.map((id) => keys.erasureMark(id))`): it runs twice per job (the plan's check and the transfer's re-check in the intent transaction), about 2% of the CPU on PostgreSQL. The mark is a pure function of the subject id: compute it once per batch (or memoise it per subject id in `createKeys`) for about 1-2%.",
  "- **The sealer waits for the other processes' sealer** (src/log/chain.ts `sealBatch`, run every second in every process and by `runUntilIdle()` at its end through `sealAll`: `ensureHead` (`insert into log_chain ... on conflict`) and src/log/head.ts `readHead(..., { lock: true })` (`for update` on the one chain row), then hashing up to 5,000 rows in JS with the lock held). In the scale-out lines (7b, 7c) these are the only statements found waiting on a lock (Lock:tuple and Lock:transactionid on log_chain): the sealing of one process queues behind another's, a pool connection held idle each time, and the workers' last `sealAll` runs one process after another. Intents, outcomes, links, slots and pg-boss's fetch and completion were never seen waiting. Cut: take the chain row `for update skip locked` (or `nowait`) in the timer's seal and seal nothing that round when another process holds it; `sealAll` keeps waiting, so a finished run is still fully sealed. Expected gain: the lock waits of 7b/7c gone and one connection per process back; the sealing work itself stays serial, as a chain must be.",
  '- **A second HMAC over canonical JSON per job for the idempotency key** (src/transfer/idempotency.ts:11, `keys.payloadDigest({ partner, operation, transition })`, after reconcile already digested the payload): under 1%; a cheaper key changes the key format, so retries in flight across a deploy would get new keys: not worth it alone.',
  '',
];

/** Issue 16.2, limit fidelity on PGlite: what would fix it (analysis; the fix is in src). */
const LIMITS_PGLITE: readonly string[] = [
  '## Limit fidelity on PGlite (16.2): what would fix it (analysis; the fix is a src change)',
  '',
  "The mechanism (traced in an earlier run, and what the 2a misses on PGlite show): a paced call takes its slot in `RateLimiter.acquire()` (src/transfer/rate-limit.ts), checks whether it is late in `#noteLate()` (a statement), then `Pacing.run()` (src/transfer/pacing.ts) makes the call, and the adapter's SDK builds and writes the request. PGlite runs each statement synchronously on the same event loop, so any statement of any worker (another partner's batch, the sealer, runUntilIdle's counting) that runs in that gap delays the request without the late check seeing it; the calls whose slots fell due meanwhile leave together when the loop frees up (Auth0, 2/s with a burst of 2: three requests within 350 ms, the third answered 429, then a Retry-After pause that costs rate). PostgreSQL does not block the loop, and the same run has no 429 there. The same mechanism applies to every paced partner, not only Auth0: the partners with the smallest burst show it first (Auth0, Twilio).",
  '',
  "- **Fix (recommended): PGlite in a worker thread.** src/store/database.ts opens PGlite inside a `worker_threads` worker and returns a proxy with the same `Database` surface (query, transaction with a mutex in the worker, close) and the `PGliteLike` surface pg-boss's `fromPglite` uses (query, exec, listen) for src/schedule/boss.ts. No statement then holds the gateway's event loop, so a call leaves when its slot falls due on PGlite as on PostgreSQL, for every partner and every kind of call (syncs, erasures, actions, live fetches), and PGlite's CPU (about 45% of the gateway process's in 1e) moves to the other core, which helps 1a on PGlite too. Test: the 2a workload on PGlite (test/ with the sandbox enforcing limits), asserting 0 answered 429 and >= 90% of each limit, failing on the current code in the Auth0/Twilio lines.",
  "- **Partial alternative: pace by the moment of departure.** PGlite serves one process (its directory lock), so an in-memory gate per partner right before the request is written (the last departure time; wait until `interval x (1 - headroom)` has passed since it, with no statement in between), in the adapters' HTTP layer (an axios request interceptor, a fetch dispatcher for the Auth0 SDK), keeps departures spaced even when the loop was blocked. It keeps the SDKs' own awaits inside the gap, touches every adapter, and leaves PGlite's CPU on the event loop, so it is second best.",
  '',
];

function markdownTable(engine: Engine, rows: readonly Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| # | measure | target | measured | result | previous run |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.id} | ${esc(r.measure)} | ${esc(r.target)} | ${esc(r.measured)} | ${r.status === 'MISSED' ? '**MISSED**' : r.status} | ${esc(previousText(engine, r))} |`,
    ),
  ].join('\n');
}

function consoleTable(engine: Engine, rows: readonly Row[]): string {
  const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  const heads = ['#', 'measure', 'target', 'measured', 'result', 'previous'];
  const cols = rows.map((r) => [
    r.id,
    cut(r.measure, 60),
    cut(r.target, 30),
    cut(r.measured, 70),
    r.status,
    cut(previousText(engine, r), 40),
  ]);
  const widths = heads.map((h, i) => Math.max(...cols.map((c) => c[i]!.length), h.length));
  const line = (c: readonly string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  return [line(heads), line(widths.map((w) => '-'.repeat(w))), ...cols.map(line)].join('\n');
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
  /** Other work on the machine changes every figure: the 1-minute load average at the start. */
  loadStart: os.loadavg()[0]!,
};
say(`partner-gateway benchmark: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GiB, Node ${machine.node}`);

const historyFile = here('./history.json');
const history = loadHistory(historyFile);
const revisionStart = gitRevision();
const results: EngineResults[] = [];
try {
  for (const { engine, label } of engines) results.push(await runEngine(engine, label));
} finally {
  await sweepStores();
}

const ranRow = (row: Row) => !partial || runs(partOfRow(row.id) ?? '');
const allRows = results.map((r) => ({ r, rows: rowsFor(r).filter(ranRow) }));
const overallPeak = Math.max(0, ...results.flatMap((r) => Object.values(r.outputs).map((o) => o.peakRssMb)));
const elapsed = round((Date.now() - started) / 1000, 0);
for (const { r, rows } of allRows) {
  say(`\n${r.label}\n`);
  say(consoleTable(r.engine, rows));
}
say(`\nPeak RSS overall (gateway processes): ${fmt(overallPeak)} MB. Total time ${elapsed} s.`);
if (partial) {
  // A partial run must not replace a full run's RESULTS.md or pass for one in the history.
  for (const { r, rows } of allRows) say(`\n## ${r.label}\n\n${markdownTable(r.engine, rows)}`);
  for (const { r, rows } of allRows)
    for (const x of rows.filter((y) => y.why)) say(`\n- **${r.engine} ${x.id}** (${x.status}): ${x.why}.`);
  say(
    `\nBENCH_PARTS=${partsWanted.join(',')}: only these parts ran; bench/RESULTS.md and bench/history.json were not written.`,
  );
  process.exit(0);
}

const revisionEnd = gitRevision();
const withdrawals = results.flatMap((r) =>
  (['limits-declared', 'limits-documented'] as const).flatMap((t) => {
    const lim = r.outputs[t]?.result as LimitsResult | undefined;
    return lim && !lim.skipped
      ? [`${r.engine} ${t === 'limits-declared' ? '2a' : '2b'}: ${lim.suppressed} of ${lim.withdrawals}`]
      : [];
  }),
);
const whys = allRows.flatMap(({ r, rows }) =>
  rows
    .filter((x) => x.status === 'MISSED' || x.status === 'not measured')
    .map(
      (x) =>
        `- **${r.engine} ${x.id}** (${x.status}): ${x.why ?? (x.status === 'not measured' ? x.measured : 'no trace recorded for this line')}.`,
    ),
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
  `| load average (1 min) | ${round(machine.loadStart, 1)} at the start, ${round(os.loadavg()[0]!, 1)} at the end (other work on the machine; above ${machine.cores} the benchmark shares the cores) |`,
  `| peak RSS overall | ${fmt(overallPeak)} MB (largest sample of any gateway process; the sandbox runs in processes of its own) |`,
  '',
  "Records are made up and computed from a number (`Given${n}`, `bench${n}@example.test`, `+4670${n}`), streamed by an async generator for `scan()` and computed on demand for `get(id)`. The partner sandbox (`startSandbox`) runs in a child process of its own (bench/sandbox-process.ts), as real partners would: the gateway's event loop, which the embedded database blocks while a query runs, is then not also the partners'. Logger: pino at level silent.",
  '',
  `Targets missed or not measured: ${missed.length === 0 ? 'none' : missed.join(', ')}.`,
  '',
  `The previous run's figures are in the last column (from bench/history.json, which every run appends to; the change is against the same line's figure then). ${history.length ? `Previous run: ${history[history.length - 1]!.date} at ${history[history.length - 1]!.revision}${history[history.length - 1]!.note ? ` (${history[history.length - 1]!.note})` : ''}.` : 'No previous run recorded.'}`,
  '',
  ...allRows.flatMap(({ r, rows }) => [`## ${r.label}`, '', markdownTable(r.engine, rows), '']),
  '## Profile of the overhead workload (1e)',
  '',
  ...results.flatMap((r) => {
    const p = r.outputs.profile?.result as ProfileResult | undefined;
    return p
      ? profileMarkdown(r.label, p)
      : [`### ${r.label}`, '', `not measured: ${r.outputs.profile?.error ?? 'not run'}`, ''];
  }),
  ...CUTS,
  '## How measured',
  '',
  ...Object.entries(HOW).flatMap(([id, text]) => [`**${id}.** ${text}`, '']),
  '## Checks and problems found in src/',
  '',
  `- Source measured: commit ${revisionStart}${revisionEnd !== revisionStart ? ` at the start and ${revisionEnd} at the end (**src changed during the run: figures mix revisions**)` : ''}.`,
  `- Consent withdrawals applied (Mailchimp members suppressed after their withdrawal): ${withdrawals.join('; ') || 'not measured'}.`,
  "- Found by earlier runs of this benchmark and fixed in src since: on PostgreSQL before 17 every partner call failed (`RateLimiter.reserve()` subtracted an infinite timestamp, SQLSTATE 22008; fixed in b818f1c); the latest consent entry was chosen by the text form of its id, so a withdrawal with id 395 lost to a grant with id 95 and 72 of 300 withdrawals were ignored (fixed in c90c018); Stripe, Auth0, Twilio and Mailchimp adapters declared no limits, the rate limiter reserved a whole batch's slots at once with a burst equal to the partner's own allowance and applied Retry-After only after the batch, and Mailchimp resyncs went in batches of 100 (all changed in e5fb854); Twilio (1 call/s, no burst) answered 22% of calls with 429 because a call that left late, behind a busy event loop, let the next one follow in under a second (pacing at 95% and moving the schedule on after a late call: e0a8c28, a3353b5, 82566ed); on PostgreSQL every call leased and freed a concurrency slot row, two statements per call that queued in the pool (a batch now leases its slots at once, 6e68294: about 1,000 -> 1,900 jobs/s).",
  '',
  '## Why the misses',
  '',
  ...(whys.length ? whys : ['No target missed.']),
  '',
  ...LIMITS_PGLITE,
].join('\n');
writeFileSync(here('./RESULTS.md'), md);
saveHistory(historyFile, history, {
  date: machine.date,
  revision: revisionStart,
  note: `load ${round(machine.loadStart, 1)} at the start; overhead ${fmt(OVERHEAD_SUBJECTS)} subjects × 4 partners, loop ${LOOP_IN_FLIGHT} in flight per partner; diffing ${engines.map((e) => `${e.engine} ${fmt(diffSubjects(e.engine))}`).join(', ')} subjects; total ${elapsed} s`,
  engines: Object.fromEntries(
    allRows.map(({ r, rows }) => [
      r.engine,
      Object.fromEntries(
        rows.flatMap((x) =>
          x.figure ? [[x.figure.key, { value: x.figure.value, unit: x.figure.unit, status: x.status }] as const] : [],
        ),
      ),
    ]),
  ),
} satisfies HistoryRun);
say(`Wrote bench/RESULTS.md and appended this run to bench/history.json`);
