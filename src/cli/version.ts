/** The package's version, from its package.json. */
import { existsSync, readFileSync } from 'node:fs';

/** src/cli/ in the sources, dist/src/cli/ in the build: the nearest package.json above is the package's. */
export function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    const url = new URL(up, import.meta.url);
    if (!existsSync(url)) continue;
    const parsed = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
    if (parsed.name === 'partner-gateway' && parsed.version) return parsed.version;
  }
  return '0.0.0';
}
