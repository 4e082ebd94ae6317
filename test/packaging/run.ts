/**
 * The package as a host gets it: `npm pack`, the tarball installed into a fresh ESM TypeScript service
 * and a fresh CommonJS one, both type-checked (`nodenext` and `bundler`), each running a small service
 * against the sandbox (the ESM one mounting the ops server, partner-gateway/server, in its own http server), the ESM host's own vitest suite on partner-gateway/testing under nock's
 * disableNetConnect, the CLI with a TypeScript config that imports the host's modules, all of it
 * again on Node 22.12 (the oldest Node `engines` allows; the host suite excepted: nock 15 needs
 * 22.20), and an install from a git URL.
 *
 *   npm run test:packaging [-- --skip-git] [-- --skip-node22] [-- --keep]
 *
 * Everything happens in a temporary directory; the hosts are the fixtures in ./hosts (files named
 * *.fixture there are TypeScript that only a host compiles: the project's own tsc, eslint and vitest
 * leave them alone).
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { strict as assert } from 'node:assert';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = fileURLToPath(new URL('./hosts/', import.meta.url));
const args = new Set(process.argv.slice(2));
const work = mkdtempSync(join(tmpdir(), 'pgw-packaging-'));
const node24 = process.execPath;
const started = Date.now();

interface Run {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion; a non-zero exit throws with the end of its output. */
function run(
  command: string,
  argv: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else {
        const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-40).join('\n');
        reject(new Error(`${command} ${argv.join(' ')} (in ${options.cwd}) exited ${code}:\n${tail}`));
      }
    });
  });
}

async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t = Date.now();
  process.stdout.write(`- ${name} ... `);
  try {
    const result = await fn();
    process.stdout.write(`ok (${((Date.now() - t) / 1000).toFixed(1)} s)\n`);
    return result;
  } catch (error) {
    process.stdout.write('FAILED\n');
    throw error;
  }
}

/** The last line of a command's output that parses as JSON. */
function lastJson<T>(output: string): T {
  const line = output
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  assert.ok(line, `no JSON line in:\n${output}`);
  return JSON.parse(line) as T;
}

/** Copies a fixture host, dropping the .fixture suffix that keeps its TypeScript out of the project's tools. */
function layOut(host: string, as = host): string {
  const dir = join(work, as);
  cpSync(join(fixtures, host), dir, { recursive: true });
  const strip = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) strip(path);
      else if (name.endsWith('.fixture')) renameSync(path, path.slice(0, -'.fixture'.length));
    }
  };
  strip(dir);
  return dir;
}

const npmInstall = (cwd: string, ...what: string[]) =>
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...what], { cwd });
const tsc = (cwd: string, project: string) =>
  run(node24, [join(cwd, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd });

/** Node's own warning that require(esm) is experimental on 22.x is expected; anything else on stderr is not. */
const quietEnv = { NODE_NO_WARNINGS: '1', PARTNER_GATEWAY_LOG_LEVEL: 'warn' };

async function esmService(dir: string, nodeBinary: string) {
  const out = await run(nodeBinary, ['build/src/service.js'], { cwd: dir, env: quietEnv });
  const result = lastJson<{
    held: Record<string, number>;
    verified: boolean;
    ops: { health: number; dashboard: boolean; script: boolean; metrics: boolean; unauthorised: number };
  }>(out.stdout);
  assert.equal(result.held.stripe, 1, 'stripe holds the customer');
  assert.equal(result.held.elogistik, 1, 'E-logistik holds the customer');
  assert.equal(result.held.intercom, 1, 'Intercom holds the customer');
  assert.equal(result.verified, true, 'audit verify passes');
  // partner-gateway/server mounted in the host's http server: its dashboard files are in the tarball.
  assert.deepEqual(
    result.ops,
    { health: 200, dashboard: true, script: true, metrics: true, unauthorised: 401 },
    'the ops server answers health, serves the dashboard, and the metrics to a token only',
  );
}

async function cjsService(dir: string, nodeBinary: string) {
  const out = await run(nodeBinary, ['build/service.js'], { cwd: dir, env: quietEnv });
  const result = lastJson<{ held: number; partners: string[] }>(out.stdout);
  assert.equal(result.held, 1, 'stripe holds the customer');
  assert.deepEqual(result.partners.sort(), ['elogistik', 'stripe']);
}

/** The installed CLI loads the host's TypeScript config (tsconfig paths, no extensions) and reads its partners. */
async function cliWithConfig(dir: string, nodeBinary: string) {
  const out = await run(
    nodeBinary,
    [
      'node_modules/partner-gateway/bin/partner-gateway.js',
      '--config',
      'partner-gateway.config.ts',
      '--data-dir',
      join(dir, `.partner-gateway-${nodeBinary === node24 ? 24 : 22}`),
      '--json',
      'status',
    ],
    {
      cwd: dir,
      env: {
        ...quietEnv,
        PARTNER_GATEWAY_PSEUDONYM_KEY: 'packaging-test-key-0123456789',
        // Dummy credentials: status reads the queues and calls no partner.
        ELOGISTIK_TOKEN: 'packaging-test',
        ELOGISTIK_BASE_URL: 'https://api.elogistik.example',
        STRIPE_API_KEY: 'sk_test_packaging',
      },
    },
  );
  const status = JSON.parse(out.stdout) as { partners: { partner: string }[] };
  assert.deepEqual(status.partners.map((p) => p.partner).sort(), ['elogistik', 'stripe']);
}

try {
  console.log(`packaging test in ${work}`);
  const tarball = await step('npm pack (builds dist/ through prepare)', async () => {
    const out = await run('npm', ['pack', '--json', '--loglevel=error', '--pack-destination', work], { cwd: repo });
    const [packed] = JSON.parse(out.stdout.slice(out.stdout.indexOf('['))) as {
      filename: string;
      files: { path: string }[];
    }[];
    assert.ok(packed, 'npm pack reported no tarball');
    const paths = packed.files.map((f) => f.path);
    assert.ok(paths.includes('dist/src/index.js') && paths.includes('dist/src/index.d.ts'), 'dist is in the tarball');
    for (const asset of ['index.html', 'app.js', 'style.css'])
      assert.ok(paths.includes(`dist/src/server/dashboard/${asset}`), `the dashboard's ${asset} is in the tarball`);
    assert.ok(!paths.some((p) => p.startsWith('src/') || p.startsWith('test/')), 'no sources or tests in the tarball');
    return join(work, packed.filename);
  });

  const esm = layOut('esm');
  const cjs = layOut('cjs');
  await step('install the tarball into a fresh ESM host', () => npmInstall(esm, tarball));
  await step('install the tarball into a fresh CommonJS host', () => npmInstall(cjs, tarball));
  await step('type-check the ESM host (nodenext, and emit)', () => tsc(esm, 'tsconfig.nodenext.json'));
  await step('type-check the ESM host (bundler)', () => tsc(esm, 'tsconfig.bundler.json'));
  await step('type-check the CommonJS host (nodenext, and emit)', () => tsc(cjs, 'tsconfig.nodenext.json'));
  await step('type-check the CommonJS host (bundler)', () => tsc(cjs, 'tsconfig.bundler.json'));
  await step('ESM service against the sandbox (Node 24)', () => esmService(esm, node24));
  await step('CommonJS service, require(esm) (Node 24)', () => cjsService(cjs, node24));
  await step('CLI with a TypeScript config importing host modules (Node 24)', () => cliWithConfig(esm, node24));
  await step("the host's vitest suite under nock.disableNetConnect()", () =>
    run(node24, ['node_modules/vitest/vitest.mjs', 'run'], { cwd: esm, env: quietEnv }),
  );

  if (!args.has('--skip-node22')) {
    const tools = join(work, 'node22');
    const node22 = await step('Node 22.12 from the npm registry (the `node` package)', async () => {
      cpSync(join(fixtures, 'node22.package.json'), join(tools, 'package.json'));
      await npmInstall(tools);
      const binary = join(tools, 'node_modules/node/bin/node');
      const version = (await run(binary, ['--version'], { cwd: tools })).stdout.trim();
      assert.equal(version, 'v22.12.0');
      return binary;
    });
    await step('ESM service (Node 22.12)', () => esmService(esm, node22));
    await step('CommonJS service, require(esm) (Node 22.12)', () => cjsService(cjs, node22));
    await step('CLI with a TypeScript config (Node 22.12: no type stripping)', () => cliWithConfig(esm, node22));
  }

  if (!args.has('--skip-git')) {
    const head = (await run('git', ['rev-parse', 'HEAD'], { cwd: repo })).stdout.trim();
    const dir = layOut('cjs', 'git-host');
    await step(`install from git+file://${repo}#${head.slice(0, 12)} (prepare builds dist/)`, () =>
      npmInstall(dir, `git+file://${repo}#${head}`),
    );
    await step('type-check and run the CommonJS service on the git install', async () => {
      await tsc(dir, 'tsconfig.nodenext.json');
      await cjsService(dir, node24);
    });
  }
  console.log(`packaging test passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
} finally {
  if (args.has('--keep')) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
