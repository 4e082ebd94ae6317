/**
 * What every PGlite this process opens for an in-memory database shares: PGlite's WebAssembly,
 * compiled once with a smaller shared buffer pool, and its file bundle (pglite.data), read once.
 *
 * PGlite 0.3 starts PostgreSQL with `-c shared_buffers=128MB`, fixed in its binary (neither
 * postgresql.conf nor ALTER SYSTEM overrides a command-line setting). PostgreSQL zeroes its 141 MB of
 * shared memory at every start: a third of an in-memory database's start, and 140 MB of RSS per open
 * database. An in-memory database's data files are in memory already, so a page outside the pool is
 * a copy away, not a disk read: 16 MB (2,048 pages, twice a fresh store's data) loses nothing a test
 * or a small embedded store would notice. The setting is a NUL-terminated string in the binary's data;
 * it is overwritten in place, same length, NUL-padded. When the string is not there exactly once (a
 * PGlite that changed it), PGlite's own module is used unchanged.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { PGliteOptions } from '@electric-sql/pglite';

/** A compiled WebAssembly.Module, named through PGlite's options (the ES2023 lib has no WebAssembly types). */
type WasmModule = NonNullable<PGliteOptions['wasmModule']>;

export const smallSharedBuffers = '16MB';

export interface PgliteRuntime {
  /** Undefined when this PGlite's binary does not hold the setting: PGlite compiles its own. */
  readonly wasmModule: WasmModule | undefined;
  /** A Blob: PGlite takes a copy of it at each start (its file system owns what it is given). */
  readonly fsBundle: Blob;
}

let shared: Promise<PgliteRuntime> | undefined;

/** PGlite options for an in-memory instance, made at the first call; a failure is tried again next time. */
export function pgliteRuntime(): Promise<PgliteRuntime> {
  shared ??= load().catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}

const dist = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));

async function load(): Promise<PgliteRuntime> {
  const [wasmModule, bundle] = await Promise.all([compile(), readFile(join(dist, 'pglite.data'))]);
  return { wasmModule, fsBundle: new Blob([bundle]) };
}

async function compile(): Promise<WasmModule | undefined> {
  const bytes = await readFile(join(dist, 'pglite.wasm'));
  const from = Buffer.from('\0shared_buffers=128MB\0');
  const at = bytes.indexOf(from);
  if (at === -1 || bytes.indexOf(from, at + 1) !== -1) return undefined;
  const to = Buffer.alloc(from.length);
  to.write(`\0shared_buffers=${smallSharedBuffers}`);
  to.copy(bytes, at);
  return wasm.compile(bytes);
}

// The ES2023 lib does not declare the WebAssembly global either.
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> } })
  .WebAssembly;
