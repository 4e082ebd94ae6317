/**
 * One benchmark process: runs the tasks named in argv[3] (comma-separated) on the engine in argv[2]
 * and prints each result as one line `@@bench-result@@ {task, result, seconds, peakRssMb}`. run.ts
 * starts these, so each group of parts has a process (and a memory figure) of its own.
 */
import { batching } from './batching.ts';
import { RESULT_MARK, RssSampler, mb, round, type Engine } from './common.ts';
import { diffingMeasure, diffingSeed, type DiffSeed } from './diffing.ts';
import { erasureLatency } from './erasure.ts';
import { hostStarts, idleRss } from './host.ts';
import { limitFidelity } from './limits.ts';
import { overhead } from './overhead.ts';
import { deletionLimit } from './safety.ts';
import { profileOverhead } from './profile.ts';
import { scaleout } from './scaleout.ts';

const engine = process.argv[2] as Engine;
const tasks = (process.argv[3] ?? '').split(',').filter(Boolean);
const arg = process.argv[4];
if (engine !== 'pglite' && engine !== 'postgres') throw new Error(`unknown engine ${engine}`);

const sampler = new RssSampler(100);
const runners: Record<string, () => Promise<unknown>> = {
  overhead: () => overhead(engine),
  'limits-declared': () => limitFidelity(engine, 'declared'),
  'limits-documented': () => limitFidelity(engine, 'documented'),
  batching: () => batching(engine),
  erasure: () => erasureLatency(engine),
  safety: () => deletionLimit(engine),
  'diff-seed': () => diffingSeed(engine),
  profile: () => profileOverhead(engine, arg ?? 'overhead.cpuprofile'),
  scaleout: () => scaleout(),
  'diff-measure': () => diffingMeasure(engine, JSON.parse(arg ?? '{}') as DiffSeed, sampler),
  // arg: the template cache directory; the store is a memory one whatever the engine.
  host: () => hostStarts(arg ?? ''),
  // arg: how many partners to configure (2 or 7).
  idle: () => idleRss(engine, Number(arg ?? '7')),
};

let failed = false;
for (const task of tasks) {
  const run = runners[task];
  if (!run) throw new Error(`unknown task ${task}`);
  (globalThis as { gc?: () => void }).gc?.();
  sampler.restart();
  const started = performance.now();
  try {
    const result = await run();
    process.stdout.write(
      `${RESULT_MARK} ${JSON.stringify({ task, result, seconds: round((performance.now() - started) / 1000, 1), peakRssMb: mb(sampler.peak()) })}\n`,
    );
  } catch (error) {
    failed = true;
    const e = error as Error;
    process.stdout.write(
      `${RESULT_MARK} ${JSON.stringify({ task, error: `${e.name}: ${e.message}`, seconds: round((performance.now() - started) / 1000, 1), peakRssMb: mb(sampler.peak()) })}\n`,
    );
    process.stderr.write(`${e.stack ?? e.message}\n`);
  }
}
sampler.stop();
process.exit(failed ? 1 : 0);
