/**
 * Part 1, profile: where the gateway's CPU goes per job. The overhead workload (gatewayRun, at a small
 * size) runs under V8's CPU profiler, started through the inspector around the workload only (the
 * same profiler as `node --cpu-prof`, without module loading and migrations in the figures), and,
 * on PostgreSQL, with every statement the process sends counted by its shape. The .cpuprofile is
 * kept (open it in Chrome DevTools) and summarised as self time by area and by function.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { count, round, type Engine } from './common.ts';
import { CallsInFlight, type InFlight } from './in-flight.ts';
import { gatewayRun } from './overhead.ts';

export const PROFILE_SUBJECTS = count('BENCH_PROFILE_SUBJECTS', 500);
const TOP = 15;
const root = fileURLToPath(new URL('..', import.meta.url));

export interface ProfileEntry {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

export interface ProfileResult {
  readonly engine: Engine;
  readonly subjects: number;
  readonly jobs: number;
  readonly seconds: number;
  /** CPU time sampled in the gateway process (idle excluded), per job. */
  readonly cpuMsPerJob: number;
  readonly sampledMs: number;
  readonly idleMs: number;
  /** Self time by the area of the function itself (Node internals and natives apart). */
  readonly areas: readonly ProfileEntry[];
  /** Self time charged to the nearest caller outside Node and V8: which code made the work. */
  readonly callers: readonly ProfileEntry[];
  readonly functions: readonly ProfileEntry[];
  /** PostgreSQL only: statements sent, in total and per batch of 100 jobs, by shape. */
  readonly statements: {
    readonly total: number;
    readonly perBatch: number;
    readonly shapes: readonly ProfileEntry[];
  } | null;
  /** Per partner: calls in flight on average, and the share of the run with none in flight. */
  readonly inFlight: readonly InFlight[];
  readonly file: string;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

export async function profileOverhead(engine: Engine, outFile: string): Promise<ProfileResult> {
  // A small run first, so lazily loaded modules and cold code are not what the profile shows.
  await gatewayRun(engine, 20);
  const counter = engine === 'postgres' ? countStatements() : undefined;
  const inFlight = new CallsInFlight();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  let run: Awaited<ReturnType<typeof gatewayRun>>;
  let profile: CpuProfile | undefined;
  let profiling = false;
  try {
    // Both start when the workload does: after the gateway opened (modules loaded, migrations run).
    run = await gatewayRun(engine, PROFILE_SUBJECTS, {
      adapter: (a) => inFlight.wrap(a),
      starting: async () => {
        counter?.start();
        inFlight.start();
        await session.post('Profiler.start');
        profiling = true;
      },
      // Stopped before the store and sandbox are closed and removed, which are not the workload.
      finished: async () => {
        profile = (await session.post('Profiler.stop')).profile as unknown as CpuProfile;
        profiling = false;
        counter?.stop();
        inFlight.stop();
      },
    });
  } finally {
    if (profiling) await session.post('Profiler.stop');
    counter?.stop();
    session.disconnect();
  }
  if (!profile) throw new Error('profile: the workload ended without a profile');
  writeFileSync(outFile, JSON.stringify(profile));
  const { areas, callers, functions, sampledMs, idleMs } = summarise(profile);
  const statements = counter?.result(run.jobs);
  return {
    engine,
    subjects: PROFILE_SUBJECTS,
    jobs: run.jobs,
    seconds: round(run.seconds, 2),
    cpuMsPerJob: round((sampledMs - idleMs) / run.jobs, 3),
    sampledMs: round(sampledMs, 0),
    idleMs: round(idleMs, 0),
    areas,
    callers,
    functions,
    statements: statements ?? null,
    inFlight: inFlight.result(),
    file: outFile.startsWith(root) ? relative(root, outFile) : outFile,
  };
}

/** Self time per area (what the issue asks to see) and per function, idle and the profiler left out. */
function summarise(profile: CpuProfile) {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const parent = new Map(profile.nodes.flatMap((n) => (n.children ?? []).map((c) => [c, n.id] as const)));
  const isNode = (area: string) => /^(Node |native: |V8|JSON\.|other$)/.test(area);
  const callerOf = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byNode.get(at)!;
      const area = areaOf(f.url, f.functionName);
      if (!isNode(area)) return area;
    }
    return 'Node and V8 with no JS caller (GC, I/O callbacks, timers)';
  };
  const callers = new Map<string, number>();
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let sampledMs = 0;
  let idleMs = 0;
  for (const [id, ms] of self) {
    const frame = byNode.get(id)!;
    sampledMs += ms;
    if (frame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    // The profiler's own stop (serialising the profile) is not the gateway's.
    if (frame.url === 'node:inspector' || frame.url.startsWith('node:internal/inspector')) {
      idleMs += ms;
      continue;
    }
    const caller = callerOf(id);
    callers.set(caller, (callers.get(caller) ?? 0) + ms);
    const area = areaOf(frame.url, frame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const fn = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    functions.set(fn, (functions.get(fn) ?? 0) + ms);
  }
  const busy = sampledMs - idleMs;
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms: round(ms, 0), share: round((100 * ms) / busy, 1) }));
  return { areas: top(areas, 20), callers: top(callers, 20), functions: top(functions, TOP), sampledMs, idleMs };
}

const AREAS: readonly [RegExp, string][] = [
  [/node_modules\/pg-boss\//, 'pg-boss (fetch, complete, enqueue)'],
  [
    /node_modules\/(pg|pg-protocol|pg-types|pg-pool|postgres-[a-z]+|pgpass)\//,
    'pg client (wire protocol, parsing rows)',
  ],
  [/node_modules\/@electric-sql\/pglite\/|^wasm:\/\//, 'PGlite (PostgreSQL in WASM, its protocol)'],
  [
    /node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|atomic-sleep)\//,
    'pino',
  ],
  [/node_modules\/(axios|follow-redirects|form-data|proxy-from-env|combined-stream)\//, 'HTTP clients: axios'],
  [/node_modules\/stripe\//, 'HTTP clients: Stripe SDK'],
  [/node_modules\/(auth0|@auth0\/[^/]+)\//, 'HTTP clients: Auth0 SDK'],
  [/node_modules\/(intercom-client|@mailchimp\/[^/]+|twilio|balena-sdk)\//, 'HTTP clients: other SDKs'],
  [/node:internal\/deps\/undici|undici/, 'HTTP clients: fetch (undici)'],
  [/node_modules\/(zod|ajv)\//, 'validation (zod)'],
  [
    /node:(internal\/)?(_?http|https|net|stream|tls|dns|internal\/streams|internal\/http)/,
    'Node http, net and streams',
  ],
  [/node:(internal\/)?crypto/, 'Node crypto (HMAC, hashes)'],
  [/\/src\/canonical-json\.ts/, 'gateway: canonical JSON'],
  [/\/src\/keys\.ts/, 'gateway: keys (pseudonyms, digests)'],
  [/\/src\/log\//, 'gateway: transfer log and hash chain'],
  [/\/src\/schedule\//, 'gateway: schedule (pg-boss glue)'],
  [/\/src\/transfer\//, 'gateway: transfer (intents, pacing, outcomes)'],
  [/\/src\/plan\//, 'gateway: plan'],
  [/\/src\/store\//, 'gateway: store'],
  [/\/src\/(minimise|record|reconcile|policy\/)/, 'gateway: record, policy, minimise'],
  [/\/src\//, 'gateway: other src'],
  [/\/adapters\//, 'adapters (gateway repo)'],
  [/\/bench\//, "benchmark: the host's record source"],
  [/node_modules\/([^/]+)\//, 'other package'],
];

function areaOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return 'V8 garbage collector';
    if (functionName === '(program)') return 'V8/Node native (program)';
    if (/^(stringify|parse)$/.test(functionName)) return 'JSON.stringify / JSON.parse (native)';
    return `native: ${functionName || '(anonymous)'}`;
  }
  for (const [pattern, area] of AREAS) {
    const m = pattern.exec(url);
    if (m) return area === 'other package' ? `package ${m[1]}` : area;
  }
  if (url.startsWith('node:')) return 'Node internals (other)';
  return 'other';
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  return path.startsWith(root) ? relative(root, path) : path;
}

/**
 * Counts every statement this process sends to PostgreSQL (gateway and pg-boss share the pg module)
 * by its shape: the verb and the first table it names. Patches pg's Client.query for the profile
 * run only; PGlite's transactions run their statements through a private path, so it is not counted.
 */
function countStatements() {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const shapes = new Map<string, number>();
  let on = false;
  proto.query = function (this: unknown, ...args: unknown[]) {
    if (on) {
      const first = args[0];
      const text = typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '');
      const shape = shapeOf(text);
      shapes.set(shape, (shapes.get(shape) ?? 0) + 1);
    }
    return original.apply(this, args);
  };
  return {
    start: () => void (on = true),
    stop: () => {
      on = false;
      proto.query = original;
    },
    result: (jobs: number) => {
      const total = [...shapes.values()].reduce((a, b) => a + b, 0);
      const batches = Math.max(1, jobs / 100);
      return {
        total,
        perBatch: round(total / batches, 1),
        shapes: [...shapes]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 12)
          .map(([name, n]) => ({ name, ms: n, share: round(n / batches, 1) })),
      };
    },
  };
}

/** A statement's shape: its verb and the first table it names (the schema dropped). */
export function shapeOf(text: string): string {
  // extract(epoch from x) and the like name no table.
  const sql = text
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase()
    .replace(/extract\([^)]*\)/g, 'extract()');
  if (/^(begin|commit|rollback|savepoint|release)/.test(sql)) return sql.split(' ')[0]!;
  const verb =
    /^(with|select|insert|update|delete|set|create|alter|lock|notify|listen)/.exec(sql)?.[1] ?? sql.slice(0, 12);
  const table =
    /(?:insert into|update|delete from|from|lock table)\s+([a-z0-9_."]+)/
      .exec(sql)?.[1]
      ?.replace(/^[a-z0-9_]+_queue\./, 'pg-boss ') ?? '';
  const boss = /_queue\./.test(sql) && !table.startsWith('pg-boss') ? ' (pg-boss)' : '';
  const lock = / for update( skip locked)?/.exec(sql)?.[0] ?? '';
  return `${verb} ${table.replace(/^gw_bench_[0-9a-f]+\./, '')}${boss}${lock}`.trim();
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

/** The top of one engine's profile, as markdown. */
export function profileMarkdown(label: string, p: ProfileResult): string[] {
  const table = (head: string, entries: readonly { name: string; ms: number; share: number }[], unit = 'ms') => [
    `| ${head} | ${unit} | share |`,
    '|---|---|---|',
    ...entries.map((e) => `| ${e.name.replace(/\|/g, '\\|')} | ${fmt(e.ms)} | ${e.share}% |`),
    '',
  ];
  return [
    `### ${label}`,
    '',
    `${fmt(p.jobs)} jobs in ${p.seconds} s; ${fmt(p.sampledMs - p.idleMs)} ms of CPU sampled (idle ${fmt(p.idleMs)} ms): ${p.cpuMsPerJob} CPU-ms per job. Profile kept at \`${p.file}\` (open it in Chrome DevTools, Performance tab).`,
    '',
    'Self time charged to the nearest caller outside Node and V8 (which code made the work: a socket write is charged to the HTTP client or pg that wrote):',
    '',
    ...table('calling area', p.callers.slice(0, 12)),
    'Self time where it was spent:',
    '',
    ...table('area', p.areas.slice(0, 12)),
    'Top functions by self time:',
    '',
    ...table('function', p.functions.slice(0, 12)),
    ...(p.statements
      ? [
          `Statements sent to PostgreSQL: ${fmt(p.statements.total)}, ${p.statements.perBatch} per batch of 100 jobs (resync's enqueueing, pg-boss fetch and completion, intents, outcomes, links, slots, sealing and runUntilIdle's polling included). By shape:`,
          '',
          '| statement (verb, first table) | count | per batch |',
          '|---|---|---|',
          ...p.statements.shapes.map((x) => `| ${x.name} | ${fmt(x.ms)} | ${x.share} |`),
          '',
        ]
      : ['Statements: not counted on PGlite (its transactions run their statements through a private path).', '']),
    ...(p.inFlight?.length
      ? [
          `Partner calls in flight (the hand-written loop keeps its cap in flight all the time; the gaps are the batches' statements, commits and the queue's fetch and completion):`,
          '',
          '| partner | calls | mean in flight | share of the run with none in flight |',
          '|---|---|---|---|',
          ...p.inFlight.map(
            (f) => `| ${f.partner} | ${fmt(f.calls)} | ${f.mean} | ${Math.round(f.idleShare * 100)}% |`,
          ),
          '',
        ]
      : []),
  ];
}
