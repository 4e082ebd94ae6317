/**
 * A PGlite data directory held as files in memory, and a PGlite file system that starts with them.
 *
 * PGlite's own `loadDataDir` untars a dump at every start, and for every file looks up each parent
 * directory, writes it and sets its times: a fifth of a memory database's start. Parsed once, the
 * files are written straight into the new instance's in-memory file system (each one copied, so no
 * instance writes into another's or into the template).
 */
import { MemoryFS, type PGlite } from '@electric-sql/pglite';

/** Where PGlite keeps its data directory in its in-memory file system (PGlite's fs/base.ts PGDATA). */
const PGDATA = '/tmp/pglite/base';

export interface DataDirFiles {
  /** Directories, relative to the data directory ('/base/1'), parents before children. */
  readonly dirs: readonly string[];
  readonly files: readonly { readonly path: string; readonly data: Uint8Array }[];
}

/**
 * The entries of an uncompressed ustar archive, as PGlite's dumpDataDir('none') writes it. Throws on
 * anything that is not a complete archive (bad header checksum, cut short, no end marker), so a
 * damaged cache file is rebuilt rather than loaded half.
 */
export function parseDataDirTar(archive: Uint8Array): DataDirFiles {
  // A plain Uint8Array view, never a Buffer (readFileSync's): MEMFS copies a file's first write with
  // slice(), which on a Buffer is a view. Every instance would then write into the template's bytes,
  // and the next one opened would replay the WAL of those before it (it saw their tables and rows).
  const tar = new Uint8Array(archive.buffer, archive.byteOffset, archive.byteLength);
  const dirs: string[] = [];
  const files: { path: string; data: Uint8Array }[] = [];
  const text = new TextDecoder();
  const field = (at: number, length: number) => {
    const bytes = tar.subarray(at, at + length);
    const end = bytes.indexOf(0);
    return text.decode(end === -1 ? bytes : bytes.subarray(0, end));
  };
  const octal = (at: number, length: number) => {
    const value = field(at, length).trim();
    if (!/^[0-7]+$/.test(value)) throw new Error('not a tar archive: bad number field');
    return parseInt(value, 8);
  };
  let offset = 0;
  for (;;) {
    if (offset + 512 > tar.length) throw new Error('not a complete tar archive: no end marker');
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
    if (sum !== octal(offset + 148, 8)) throw new Error('not a tar archive: bad header checksum');
    const prefix = field(offset + 345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(offset + 0, 100);
    const path = `/${name.replace(/^\/+/, '').replace(/\/+$/, '')}`;
    const size = octal(offset + 124, 12);
    const type = String.fromCharCode(header[156]!);
    const start = offset + 512;
    if (start + size > tar.length) throw new Error('not a complete tar archive: cut short');
    if (type === '5') dirs.push(path);
    else if (type === '0' || type === '\0') files.push({ path, data: tar.subarray(start, start + size) });
    offset = start + Math.ceil(size / 512) * 512;
  }
  // Every parent of every file, whether or not the archive lists it, shortest first.
  const all = new Set<string>();
  for (const p of [...dirs, ...files.map((f) => f.path.slice(0, f.path.lastIndexOf('/')))]) {
    const parts = p.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) all.add(`/${parts.slice(0, i).join('/')}`);
  }
  return { dirs: [...all].sort((a, b) => a.split('/').length - b.split('/').length), files };
}

/** PGlite's in-memory file system, holding the given data directory before PostgreSQL starts. */
export class DataDirMemoryFS extends MemoryFS {
  readonly #content: DataDirFiles;

  constructor(content: DataDirFiles) {
    super();
    this.#content = content;
  }

  /** PGlite calls this once its file system is up and before it looks for a database (PG_VERSION). */
  override async initialSyncFs(): Promise<void> {
    const fs = (this.pg as PGlite).Module.FS;
    if (!fs.analyzePath(PGDATA).exists) fs.mkdirTree(PGDATA);
    for (const dir of this.#content.dirs) fs.mkdir(PGDATA + dir);
    // MEMFS copies what it is given (no canOwn), so the template's bytes are never written to.
    for (const file of this.#content.files) fs.writeFile(PGDATA + file.path, file.data);
  }
}
