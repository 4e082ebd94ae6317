/**
 * Shared pieces of the benchmark: made-up records (computed from a number, never stored), a streamed
 * record source, the two engines, the sandbox and adapters, an RSS sampler and small statistics.
 * Records are synthetic and carry no canary strings: `Given${n}`, `bench${n}@example.test`,
 * `+4670${n padded}`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { partnerModules } from '../adapters/index.ts';
import type { PartnerAdapter } from '../src/adapter.ts';
import type { PartnerLimits } from '../src/transfer/rate-limit.ts';
import type { MasterRecordInput } from '../src/record.ts';
import type { FaultConfig, PartnerStats, RequestLogEntry } from '../src/sandbox/index.ts';
import type { RecordSource } from '../src/source.ts';
import { openDatabase, type DatabaseOptions } from '../src/store/database.ts';

export type Engine = 'pglite' | 'postgres';

export const PSEUDONYM_KEY = 'bench-pseudonym-key-not-for-production';
export const SECRETS = { pseudonymKey: PSEUDONYM_KEY } as const;

/** Integer from an environment variable, scaled by BENCH_SCALE (default 1), at least `min`. */
export function count(name: string, fallback: number, min = 1): number {
  const scale = Number(process.env.BENCH_SCALE ?? '1');
  const raw = process.env[name];
  const base =
    raw !== undefined && raw !== '' ? Number(raw) : fallback * (Number.isFinite(scale) && scale > 0 ? scale : 1);
  return Math.max(min, Math.round(base));
}

/** A plain number from an environment variable (not scaled). */
export function setting(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw !== undefined && raw !== '' ? Number(raw) : fallback;
  return Number.isFinite(value) ? value : fallback;
}

export const subjectId = (n: number): string => `bench-${String(n).padStart(7, '0')}`;

function numberOf(id: string): number | undefined {
  const m = /^bench-(\d{7})$/.exec(id);
  return m ? Number(m[1]) : undefined;
}

/** The made-up master record of subject n: complete enough for every partner that syncs. */
export function benchRecord(n: number): MasterRecordInput {
  return {
    id: subjectId(n),
    name: { given: `Given${n}`, family: `Family${n}` },
    address: {
      street: `Benchgatan ${(n % 200) + 1}`,
      postalCode: String(10_000 + (n % 89_999)),
      city: 'Benchstad',
      country: 'SE',
    },
    phone: `+4670${String(n).padStart(7, '0')}`,
    email: `bench${n}@example.test`,
    subscription: { start: '2024-01-01T00:00:00.000Z' },
    partnerIds: {},
  };
}

/**
 * Subjects [from, from + n): get(id) computes the record on demand, scan() streams them from an
 * async generator (never an array of all of them).
 */
export function benchSource(from: number, n: number): RecordSource {
  return {
    get: async (id) => {
      const k = numberOf(id);
      return k !== undefined && k >= from && k < from + n ? benchRecord(k) : null;
    },
    async *scan() {
      for (let k = from; k < from + n; k++) yield benchRecord(k);
    },
  };
}

export const quietLogger = (): Logger => pino({ level: 'silent' });

export interface EngineHandle {
  readonly engine: Engine;
  readonly database: DatabaseOptions;
  /** The temp directory, or the schema name: enough for engineAt() to open the same store again. */
  readonly location: string;
  /** Removes the temp directory, or drops the schema and its _queue schema. */
  cleanup(): Promise<void>;
}

export function postgresUrl(): string | undefined {
  return process.env.PARTNER_GATEWAY_BENCH_DATABASE_URL || process.env.PARTNER_GATEWAY_TEST_DATABASE_URL || undefined;
}

/** A fresh embedded store in a temp directory, or a fresh schema `gw_bench_<random>` on PostgreSQL. */
export function freshEngine(engine: Engine): EngineHandle {
  const handle = engineAt(
    engine,
    engine === 'pglite'
      ? mkdtempSync(join(tmpdir(), 'partner-gateway-bench-'))
      : `gw_bench_${randomBytes(5).toString('hex')}`,
  );
  // The orchestrator (run.ts) notes every store made, to remove any that a killed child left behind.
  process.stdout.write(`${STORE_MARK} ${JSON.stringify({ engine, location: handle.location })}\n`);
  return handle;
}

export const STORE_MARK = '@@bench-store@@';
export const RESULT_MARK = '@@bench-result@@';

/** The store at a location freshEngine() made (possibly in another process). */
export function engineAt(engine: Engine, location: string): EngineHandle {
  if (engine === 'pglite') {
    return {
      engine,
      location,
      database: { dataDir: location },
      cleanup: async () => rmSync(location, { recursive: true, force: true }),
    };
  }
  const url = postgresUrl();
  if (!url)
    throw new Error('no PostgreSQL url: set PARTNER_GATEWAY_BENCH_DATABASE_URL or PARTNER_GATEWAY_TEST_DATABASE_URL');
  if (!/^gw_bench_[0-9a-f]{10}$/.test(location)) throw new Error(`not a benchmark schema: ${location}`);
  const schema = location;
  return {
    engine,
    location,
    database: { url, schema },
    cleanup: async () => {
      const admin = await openDatabase({ url, schema: 'public', poolSize: 1 });
      try {
        await admin.query(`drop schema if exists ${schema} cascade`);
        await admin.query(`drop schema if exists ${schema}_queue cascade`);
      } finally {
        await admin.close();
      }
    },
  };
}

export const SYNC_PARTNERS = ['elogistik', 'stripe', 'intercom', 'auth0'] as const;
export const ALL_PARTNERS = partnerModules.map((m) => m.partner);

/** What the benchmark needs of a sandbox, whether in this process or in its own. */
export interface BenchSandbox {
  url(partner: string): string;
  stats(): Promise<Record<string, PartnerStats>>;
  /** Log entries of one partner (the newest 50,000), optionally only those that arrived at or after `since`. */
  requests(partner: string, since?: Date): Promise<RequestLogEntry[]>;
  close(): Promise<void>;
}

/**
 * The sandbox (every partner's emulator) in a child process of its own, driven through its
 * inspection port. Limits on or off; faults (e.g. latency) as the sandbox takes them.
 */
export async function benchSandbox(limits: boolean, faults: FaultConfig = {}): Promise<BenchSandbox> {
  const child = spawn(
    process.execPath,
    [
      '--disable-warning=ExperimentalWarning',
      fileURLToPath(new URL('./sandbox-process.ts', import.meta.url)),
      JSON.stringify({ limits, faults }),
    ],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const info = await new Promise<{ urls: Record<string, string>; inspectUrl: string }>((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const nl = buffer.indexOf('\n');
      if (nl >= 0) {
        child.stdout!.off('data', onData);
        try {
          resolve(JSON.parse(buffer.slice(0, nl)));
        } catch (error) {
          reject(error as Error);
        }
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the sandbox process exited (${code}) before it was ready`)));
  });
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${info.inspectUrl}${path}`);
    if (!res.ok) throw new Error(`sandbox inspection ${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  };
  return {
    url: (partner) => {
      const url = info.urls[partner];
      if (!url) throw new Error(`no partner ${partner} in the sandbox`);
      return url;
    },
    stats: () => get('/stats'),
    requests: (partner, since) =>
      get(
        `/partners/${encodeURIComponent(partner)}/requests${since ? `?since=${encodeURIComponent(since.toISOString())}` : ''}`,
      ),
    close: async () => {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGTERM'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Sum of requests over every partner in a stats snapshot. */
export function totalRequests(stats: Record<string, PartnerStats>): number {
  return Object.values(stats).reduce((sum, s) => sum + s.requests, 0);
}

/** Adapters pointed at the sandbox (Auth0 with createUsers, as its sandbox options say). */
export function sandboxAdapters(sandbox: BenchSandbox, partners: readonly string[] = ALL_PARTNERS): PartnerAdapter[] {
  return partnerModules
    .filter((m) => partners.includes(m.partner))
    .map((m) => m.createAdapter(m.sandboxOptions(sandbox.url(m.partner))));
}

/**
 * maxConcurrent in the limits-off runs. 0 leaves it unset (the gateway's per-process default of 10,
 * and no shared slots on PostgreSQL, which cost two statements per batch when it is set).
 */
export const LIMITS_OFF_MAX_CONCURRENT = setting('BENCH_LIMITS_OFF_MAX_CONCURRENT', 1_000);

/** Gateway limits that switch rate limiting off: no perSecond, a high maxConcurrent. */
export function limitsOff(partners: readonly string[] = ALL_PARTNERS): Record<string, PartnerLimits> {
  const maxConcurrent = LIMITS_OFF_MAX_CONCURRENT > 0 ? LIMITS_OFF_MAX_CONCURRENT : undefined;
  return Object.fromEntries(partners.map((p) => [p, { perSecond: undefined, maxConcurrent } satisfies PartnerLimits]));
}

/** What holds a process's memory, in MB: process.memoryUsage() and, on PGlite, its WASM linear memory. */
export interface MemoryBreakdown {
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly heapTotalMb: number;
  /** Memory outside the JS heap that V8 knows of: Buffers, ArrayBuffers, and PGlite's WASM memory. */
  readonly externalMb: number;
  readonly arrayBuffersMb: number;
  /** PGlite's WASM linear memory (part of external), when a PGlite is given. */
  readonly wasmMb?: number;
}

export function memoryBreakdown(pglite?: unknown, u: NodeJS.MemoryUsage = process.memoryUsage()): MemoryBreakdown {
  // PGlite's Emscripten module is not in its types; its heap is the database's whole memory.
  const wasm = (pglite as { mod?: { HEAP8?: Int8Array } } | undefined)?.mod?.HEAP8?.byteLength;
  return {
    rssMb: mb(u.rss),
    heapUsedMb: mb(u.heapUsed),
    heapTotalMb: mb(u.heapTotal),
    externalMb: mb(u.external),
    arrayBuffersMb: mb(u.arrayBuffers),
    ...(wasm !== undefined ? { wasmMb: mb(wasm) } : {}),
  };
}

/** The PGlite instance behind a gateway's database, if it is one (to read its WASM memory). */
export const pgliteOf = (database: { boss: unknown }): unknown => (database.boss as { pglite?: unknown }).pglite;

/** Samples process RSS every 100 ms; peak() includes a sample taken on the spot. */
export class RssSampler {
  #peak = 0;
  #peakHeap = 0;
  #atPeak: NodeJS.MemoryUsage | undefined;
  #timer: NodeJS.Timeout;
  constructor(intervalMs = 100) {
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }
  sample(): number {
    const usage = process.memoryUsage();
    const { rss, heapUsed } = usage;
    if (rss > this.#peak) {
      this.#peak = rss;
      this.#atPeak = usage;
    }
    if (heapUsed > this.#peakHeap) this.#peakHeap = heapUsed;
    return rss;
  }
  /** Restart the peaks from the current figures (for a window of their own). */
  restart(): void {
    this.#peak = 0;
    this.#peakHeap = 0;
    this.sample();
  }
  /** process.memoryUsage() at the sample with the highest RSS: what held the peak. */
  atPeak(): NodeJS.MemoryUsage | undefined {
    return this.#atPeak;
  }
  /** The largest JS heap in use seen (garbage not yet collected included). */
  peakHeap(): number {
    return this.#peakHeap;
  }
  peak(): number {
    this.sample();
    return this.#peak;
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

export const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** Runs fn over items with at most `limit` in flight. */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
}
