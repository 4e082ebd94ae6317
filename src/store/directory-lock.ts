import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface DirectoryLock {
  release(): void;
}

/**
 * PGlite is single-process: two processes on one data directory corrupt it. A lock file with the
 * owner's pid keeps the second one out with an error that says what to do instead. A lock left by a
 * process that no longer runs is taken over.
 */
export function acquireDirectoryLock(dataDir: string): DirectoryLock {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'partner-gateway.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return {
        release: () => {
          if (!released) rmSync(file, { force: true });
          released = true;
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (owner && owner !== process.pid && isRunning(owner)) {
        throw new Error(
          `the embedded database in ${dir} is in use by process ${owner}. PGlite is single-process: ` +
            'stop that process, or run every process against one PostgreSQL server by setting PARTNER_GATEWAY_DATABASE_URL',
          { cause: error },
        );
      }
      if (owner === process.pid) {
        throw new Error(
          `the embedded database in ${dir} is already open in this process: share one gateway, or use a database url`,
          { cause: error },
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock ${dir}`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
