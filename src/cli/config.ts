/**
 * The CLI's config module: `partner-gateway.config.ts` default-exports `defineConfig({...})`
 * (`import { defineConfig } from 'partner-gateway/config'`). Secrets never live here: they come from
 * the environment (PARTNER_GATEWAY_PSEUDONYM_KEY, each partner's credentials).
 *
 * The module is loaded with tsx's scoped import (tsx/esm/api), not Node's own type stripping: it runs
 * on every Node the package supports (22.12 strips no types), and it resolves imports of the host's
 * own TypeScript the way the host's tsc does (extension-less and .js specifiers of .ts files,
 * tsconfig `paths`, CommonJS and ESM alike), which stripping does not.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { PartnerModule } from '../emulator.ts';
import type { LifecycleHooks } from '../lifecycle/types.ts';
import type { RetryPolicy } from '../schedule/boss.ts';
import type { PartnerLimits } from '../transfer/rate-limit.ts';
import type { RecordSource } from '../source.ts';
import type { DatabaseOptions } from '../store/database.ts';
import { CliError } from './errors.ts';

export interface PartnerGatewayConfig {
  /** Where master records come from: the host's own store. */
  readonly source: RecordSource;
  /** The host's part in erasure: anonymise camera data, hear that a subject is erased. */
  readonly hooks?: LifecycleHooks;
  /** The policy YAML, relative to the config file. Default: the package's config/policy.yaml. */
  readonly policy?: string;
  /** Partners to work with (policy names). Default: every partner the policy and the modules both know. */
  readonly partners?: readonly string[];
  /**
   * Partner modules of the host's own (README "Writing your own adapter"), beside the shipped ones;
   * one with a shipped partner's name replaces it.
   */
  readonly modules?: readonly PartnerModule<never>[];
  /** Per-partner limits, when an account allows more (or should use less) than the documented ones. */
  readonly limits?: Readonly<Record<string, PartnerLimits>>;
  readonly retry?: Partial<RetryPolicy>;
  /**
   * A PostgreSQL url, or database options. Default: PARTNER_GATEWAY_DATABASE_URL, else embedded
   * PGlite in --data-dir / PARTNER_GATEWAY_DATA_DIR / ./.partner-gateway.
   */
  readonly database?: string | DatabaseOptions;
}

/** Identity, for type checking a config module. */
export function defineConfig(config: PartnerGatewayConfig): PartnerGatewayConfig {
  return config;
}

export const defaultConfigPath = './partner-gateway.config.ts';

const fn = z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', {
  message: 'must be a function',
});
const positive = z.number().positive();
const schemaName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be lower_snake_case');

const configSchema = z.strictObject({
  source: z.looseObject(
    { get: fn, scan: fn, getMany: fn.optional() },
    { message: 'must be an object with get(id) and scan()' },
  ),
  hooks: z.strictObject({ anonymiseCameraData: fn.optional(), erased: fn.optional() }).optional(),
  policy: z.string().min(1).optional(),
  partners: z.array(z.string().min(1)).optional(),
  modules: z
    .array(
      z.looseObject(
        {
          partner: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'must be a lower-case partner name'),
          optionsFromEnv: fn,
          sandboxOptions: fn,
          createAdapter: fn,
          createEmulator: fn,
          environment: z.array(z.looseObject({ name: z.string() })),
        },
        {
          message:
            'must be a partner module (partner, environment, optionsFromEnv, sandboxOptions, createAdapter, createEmulator)',
        },
      ),
    )
    .optional(),
  limits: z
    .record(
      z.string(),
      z.strictObject({
        perSecond: positive.optional(),
        burst: positive.optional(),
        headroom: z.number().min(0).max(0.5).optional(),
        maxConcurrent: z.number().int().positive().optional(),
      }),
    )
    .optional(),
  retry: z
    .strictObject({
      retryLimit: z.number().int().min(0).optional(),
      retryDelaySeconds: z.number().int().min(0).optional(),
      retryDelayMaxSeconds: z.number().int().min(0).optional(),
      expireInSeconds: z.number().int().positive().optional(),
      superviseIntervalSeconds: z.number().int().positive().optional(),
    })
    .optional(),
  database: z
    .union(
      [
        z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// url'),
        z.strictObject({
          url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// url'),
          schema: schemaName.optional(),
          poolSize: z.number().int().positive().optional(),
          prepare: z.boolean().optional(),
        }),
        z.strictObject({ dataDir: z.string().min(1), schema: schemaName.optional() }),
        z.strictObject({ memory: z.literal(true), schema: schemaName.optional() }),
      ],
      { message: 'must be a postgres:// url, { url }, { dataDir } or { memory: true }' },
    )
    .optional(),
});

export interface LoadedConfig {
  readonly path: string;
  readonly config: PartnerGatewayConfig;
  /** The policy path resolved against the config file's directory, if the config names one. */
  readonly policyPath: string | undefined;
}

/** Imports and validates a config module; every error is one line that names the file and the problem. */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) {
    throw new CliError(`config file not found: ${path} (create it, or point --config at one)`);
  }
  let module: { default?: unknown };
  try {
    module = await importConfigModule(absolute);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new CliError(`cannot load config ${path}: ${message}`);
  }
  const value = unwrapDefault(module);
  if (value === undefined)
    throw new CliError(`invalid config ${path}: it has no default export (export default defineConfig({ ... }))`);
  const result = configSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.map(String).join('.') || '(config)'}: ${issue.message}`,
    );
    throw new CliError(`invalid config ${path}: ${problems.join('; ')}`);
  }
  // Use the module's own objects, not zod's copies: a source may be a class instance whose methods need `this`.
  const config = value as PartnerGatewayConfig;
  const policyPath =
    config.policy === undefined
      ? undefined
      : isAbsolute(config.policy)
        ? config.policy
        : resolve(dirname(absolute), config.policy);
  return { path, config, policyPath };
}

async function importConfigModule(absolute: string): Promise<{ default?: unknown }> {
  // Loaded only when a config is: commands that need none (--help) do not pay for esbuild.
  const { tsImport } = await import('tsx/esm/api');
  const tsconfig = nearestTsconfig(dirname(absolute));
  return (await tsImport(pathToFileURL(absolute).href, {
    parentURL: import.meta.url,
    ...(tsconfig ? { tsconfig } : {}),
  })) as { default?: unknown };
}

/** The host's tsconfig.json that governs the config file (its paths, its module settings), if any. */
function nearestTsconfig(dir: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    const candidate = join(at, 'tsconfig.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(at) === at) return undefined;
  }
}

/**
 * A config compiled as CommonJS (a host without "type": "module") reaches us as
 * { default: { default: config } } through ESM interop: take the config itself.
 */
function unwrapDefault(module: { default?: unknown }): unknown {
  const value = module.default;
  if (value && typeof value === 'object' && 'default' in value && !('source' in value))
    return (value as { default: unknown }).default;
  return value;
}
