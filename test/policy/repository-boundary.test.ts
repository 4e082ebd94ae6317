/**
 * A fresh clone must run every test: nothing the project ships (tests, examples, scripts, benchmarks,
 * the library, README) may read a file outside the repository, as the notice test once read the
 * published notice from a `shared/` folder beside the checkout and was silently skipped without it.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = join(root, 'test/fixtures/published-notice');

function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|js|mjs|cjs|md)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .filter((f) => !f.includes('node_modules'));
}

/** Relative path literals a file resolves against its own folder: imports, new URL(...), path joins. */
function relativeTargets(text: string): string[] {
  const literals = [...text.matchAll(/['"`]((?:\.\.?\/)+[^'"`\s]*)['"`]/g)].map((m) => m[1]!);
  return literals.filter((l) => l.startsWith('../') || l.startsWith('./'));
}

describe('the repository boundary', () => {
  it('no test, example, script, benchmark or library file reaches outside the repository', () => {
    const offenders: string[] = [];
    for (const file of ['test', 'examples', 'scripts', 'bench', 'src', 'adapters'].flatMap(filesUnder)) {
      for (const target of relativeTargets(readFileSync(file, 'utf8'))) {
        const resolved = resolve(dirname(file), target);
        if (relative(root, resolved).startsWith('..')) offenders.push(`${relative(root, file)}: ${target}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('README names no path outside the repository', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).not.toMatch(/\.\.\/shared|\/work\/shared/);
  });

  it('the published notice is committed with its origin, byte for byte as published', () => {
    const origin = readFileSync(join(fixtures, 'README.md'), 'utf8');
    for (const file of ['privacy-notice.sv.txt', 'privacy-notice.en.md']) {
      const sha = createHash('sha256')
        .update(readFileSync(join(fixtures, file)))
        .digest('hex');
      expect(origin, `${file}: its checksum is recorded with its origin`).toContain(sha);
    }
  });
});
