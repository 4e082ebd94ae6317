/** Runs the real CLI binary (bin/partner-gateway.js) in a child process, as an operator would. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { partnerModules } from '../../adapters/index.ts';
import type { PartnerEmulator } from '../../src/emulator.ts';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const binPath = fileURLToPath(new URL('../../bin/partner-gateway.js', import.meta.url));
const configModule = pathToFileURL(fileURLToPath(new URL('../../src/cli/config.ts', import.meta.url))).href;

/**
 * A config module in dir (made an ESM package) whose source serves the records given; `settings`
 * are further lines of its defineConfig object (e.g. `partners: [...]`). Returns its path.
 */
export async function writeRecordsConfig(
  dir: string,
  records: readonly { readonly id: string }[],
  settings: readonly string[] = [],
  name = 'partner-gateway.config.ts',
): Promise<string> {
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const path = join(dir, name);
  await writeFile(
    path,
    [
      `import { defineConfig } from '${configModule}';`,
      `const records: { id: string }[] = ${JSON.stringify(records)};`,
      `const byId = new Map(records.map((r) => [r.id, r]));`,
      `export default defineConfig({`,
      `  source: { get: async (id: string) => byId.get(id) ?? null, async *scan() { yield* records; } },`,
      ...settings.map((line) => `  ${line}`),
      `});`,
    ].join('\n'),
  );
  return path;
}

export interface CliWorkspace {
  readonly dir: string;
  readonly sandbox: Sandbox;
  /** Points the binary at the sandbox, with its store in dir/data and nothing from the developer's shell. */
  readonly env: NodeJS.ProcessEnv;
  /** Stops the sandbox and removes the directory. */
  close(): Promise<void>;
}

/** A temp directory and a sandbox (every shipped partner unless emulators are given) for a CLI suite. */
export async function startCliWorkspace(
  name: string,
  pseudonymKey: string,
  emulators: readonly PartnerEmulator[] = partnerModules.map((m) => m.createEmulator()),
): Promise<CliWorkspace> {
  const dir = await mkdtemp(join(tmpdir(), `partner-gateway-${name}-`));
  const sandbox = await startSandbox({ emulators: [...emulators] });
  const env = cleanEnv({
    PARTNER_GATEWAY_PSEUDONYM_KEY: pseudonymKey,
    PARTNER_GATEWAY_SANDBOX_URL: sandbox.inspectUrl,
    PARTNER_GATEWAY_DATA_DIR: join(dir, 'data'),
  });
  return {
    dir,
    sandbox,
    env,
    close: async () => {
      await sandbox.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  json<T = unknown>(): T;
}

/** The environment every run starts from: nothing from the developer's shell that would redirect the CLI. */
export function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('PARTNER_GATEWAY_') || /^(MAILCHIMP|STRIPE|INTERCOM|TWILIO|AUTH0|BALENA|ELOGISTIK)_/.test(key))
      delete env[key];
  }
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

export function runCli(
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CliResult> {
  // process.execPath is the Node that runs vitest: Node 24 (the `node` devDependency) under npm/npx.
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd: repoRoot,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `partner-gateway ${args.join(' ')}: no exit after ${options.timeoutMs ?? 90_000} ms; stderr: ${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout,
        stderr,
        json: <T>() => {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(
              `partner-gateway ${args.join(' ')}: stdout is not JSON (exit ${code}): ${stdout.slice(0, 500)} / stderr: ${stderr.slice(0, 500)}`,
            );
          }
        },
      });
    });
  });
}

/** Starts the CLI and leaves it running (worker, sandbox): resolves once stdout matches `ready`. */
export function startCli(
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; ready: RegExp; timeoutMs?: number },
) {
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd: repoRoot,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`not ready after ${options.timeoutMs ?? 60_000} ms; stdout: ${stdout}; stderr: ${stderr}`)),
      options.timeoutMs ?? 60_000,
    );
    const check = () => {
      if (options.ready.test(stdout)) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve();
      }
    };
    child.stdout.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`exited before ready (${stderr.trim()})`));
    });
  });
  return { child, ready, exited, stdout: () => stdout };
}

/** What every failure must look like: exactly one line on stderr, a non-zero exit, no stack trace. */
export function oneLineError(result: CliResult): string {
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
  if (result.code === 0) throw new Error(`expected a non-zero exit, got 0; stdout: ${result.stdout.slice(0, 300)}`);
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got ${lines.length}:\n${result.stderr}`);
  if (/^\s+at\s/m.test(result.stderr) || /\.ts:\d+:\d+/.test(result.stderr))
    throw new Error(`stderr has a stack trace: ${result.stderr}`);
  return lines[0]!;
}
