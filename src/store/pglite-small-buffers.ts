/**
 * PGlite's WebAssembly, compiled once per process with a smaller shared buffer pool, for in-memory
 * databases.
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

export const smallSharedBuffers = '16MB';

let compiled: Promise<WebAssembly.Module | undefined> | undefined;

/** The compiled module with the smaller pool, or undefined when this PGlite's binary does not match. */
export function smallBuffersModule(): Promise<WebAssembly.Module | undefined> {
  compiled ??= compile().catch(() => undefined);
  return compiled;
}

async function compile(): Promise<WebAssembly.Module | undefined> {
  const dir = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  const bytes = await readFile(join(dir, 'pglite.wasm'));
  const from = Buffer.from('\0shared_buffers=128MB\0');
  const at = bytes.indexOf(from);
  if (at === -1 || bytes.indexOf(from, at + 1) !== -1) return undefined;
  const to = Buffer.alloc(from.length);
  to.write(`\0shared_buffers=${smallSharedBuffers}`);
  to.copy(bytes, at);
  return wasm.compile(bytes);
}

// This project's type libraries (ES2023, node) declare WebAssembly's types but not the global itself.
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } })
  .WebAssembly;
