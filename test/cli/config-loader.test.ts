/**
 * The config module is loaded as the host's tsc would see it: imports of the host's own TypeScript
 * without extensions, through tsconfig `paths`, and from a CommonJS project as well as an ESM one.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/cli/config.ts';

const root = mkdtempSync(join(tmpdir(), 'pgw-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const configModule = pathToFileURL(fileURLToPath(new URL('../../src/cli/config.ts', import.meta.url))).href;

function project(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const customers = `
export interface Customer { id: string; name: { given: string; family: string } }
// An enum: not erasable syntax, so Node's type stripping alone would refuse this file.
export enum Plan { Basic = 'basic', Pro = 'pro' }
export const customers: Customer[] = [{ id: 'cust-1', name: { given: 'Ada', family: 'Lovelace' } }];
`;

const helper = `
import { customers } from '@host/customers';
export const byId = new Map(customers.map((c) => [c.id, c]));
`;

const config = (imports: string) => `
import { defineConfig } from '${configModule}';
${imports}
export default defineConfig({
  source: {
    get: async (id: string) => byId.get(id) ?? null,
    async *scan() { yield* byId.values(); },
  },
  partners: ['stripe', Plan.Pro === 'pro' ? 'elogistik' : 'never'],
});
`;

const tsconfig = JSON.stringify({
  compilerOptions: { baseUrl: '.', paths: { '@host/*': ['./src/*'] }, strict: true },
});

describe('loading partner-gateway.config.ts', () => {
  it('follows tsconfig paths and extension-less imports in an ESM project', async () => {
    const dir = project('esm-host', {
      'package.json': JSON.stringify({ name: 'esm-host', type: 'module' }),
      'tsconfig.json': tsconfig,
      'src/customers.ts': customers,
      'src/lookup/index.ts': helper,
      'partner-gateway.config.ts': config(
        `import { byId } from './src/lookup';\nimport { Plan } from '@host/customers';`,
      ),
    });
    const { config: loaded } = await loadConfig(join(dir, 'partner-gateway.config.ts'));
    expect(loaded.partners).toEqual(['stripe', 'elogistik']);
    expect(await loaded.source.get('cust-1')).toMatchObject({ id: 'cust-1' });
    expect(await loaded.source.get('cust-2')).toBeNull();
  });

  it('loads from a CommonJS project, with .js specifiers of .ts files', async () => {
    const dir = project('cjs-host', {
      'package.json': JSON.stringify({ name: 'cjs-host' }),
      'tsconfig.json': tsconfig,
      'src/customers.ts': customers,
      'src/lookup.ts': helper,
      'partner-gateway.config.ts': config(
        `import { byId } from './src/lookup.js';\nimport { Plan } from './src/customers';`,
      ),
    });
    const { config: loaded } = await loadConfig(join(dir, 'partner-gateway.config.ts'));
    expect(loaded.partners).toEqual(['stripe', 'elogistik']);
    expect(await loaded.source.get('cust-1')).toMatchObject({ id: 'cust-1' });
  });

  it('names the file and the first line of the problem when the module does not load', async () => {
    const dir = project('broken-import', {
      'package.json': JSON.stringify({ name: 'broken-import', type: 'module' }),
      'partner-gateway.config.ts': `import { nothing } from './src/missing';\nexport default { source: nothing };\n`,
    });
    await expect(loadConfig(join(dir, 'partner-gateway.config.ts'))).rejects.toThrow(
      /^cannot load config .*partner-gateway\.config\.ts: .*missing/,
    );
  });
});
