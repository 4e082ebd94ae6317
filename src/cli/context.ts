/**
 * What every command shares: the global options, the config, the policy, and (lazily) a gateway
 * wired to the partners' adapters, either from the environment or pointed at a running sandbox.
 * Heavy modules (the gateway, the partner SDKs) are imported only by the commands that need them,
 * so `--help`, `policy check` and `notice` start fast.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import type { PartnerAdapter } from '../adapter.ts';
import type { PartnerModule } from '../emulator.ts';
import type { Gateway } from '../gateway.ts';
import type { GatewayObserver } from '../observe.ts';
import { loadPolicyFile, type Policy } from '../policy/index.ts';
import type { ReadOnlyGateway } from '../read-only-gateway.ts';
import type { DatabaseOptions } from '../store/database.ts';
import { defaultConfigPath, loadConfig, type LoadedConfig, type PartnerGatewayConfig } from './config.ts';
import { CliError, usageError } from './errors.ts';
import { logDestination, logFormat } from './log-destination.ts';
import { offlineAdapter } from './offline-adapter.ts';
import { localOps, type OpsClient } from './ops-client.ts';

export interface GlobalOptions {
  /** Undefined: the default path (./partner-gateway.config.ts), which may not exist. */
  readonly config?: string;
  readonly operator: string;
  readonly sandbox?: string;
  readonly dataDir?: string;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly logLevel?: string;
  /** A running ops server to talk to instead of opening the store. */
  readonly server?: string;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function defaultOperator(): string {
  try {
    const name = userInfo().username;
    if (name) return name;
  } catch {
    // No passwd entry (a container): fall back to the environment.
  }
  return process.env.USER ?? process.env.USERNAME ?? 'unknown';
}

export interface GatewayRequest {
  /**
   * Wire the enabled partners' adapters (commands that call partners); 'offline': name the enabled
   * partners without reading their credentials (read-only commands that report per partner).
   */
  readonly partners: boolean | 'offline';
  /** Logs to stdout at info (the worker); otherwise to stderr, silent unless a level is asked for. */
  readonly service?: boolean;
  /** Hears every partner call and job (the ops server's metrics, progress bars). */
  readonly observer?: GatewayObserver;
  /** Set by ops(): the command also works against a server. */
  readonly viaOps?: boolean;
  /**
   * The command only reads (status, dead letters, the transfer log): without the pseudonym key it
   * opens the store through a read-only gateway instead of refusing.
   */
  readonly readOnly?: boolean;
  /** Open the store for a pseudonym key rotation (rotate-pseudonym-key). */
  readonly keyRotation?: boolean;
  /** A partner the policy no longer names, whose adapter is wired too (to offboard it). */
  readonly former?: string;
}

export class CliContext {
  readonly globals: GlobalOptions;
  #config: Promise<LoadedConfig> | undefined;
  #gateway: Gateway | undefined;
  #readOnlyGateway: ReadOnlyGateway | undefined;
  #limits: Record<string, { perSecond?: number | undefined }> = {};
  #closing: Promise<void> | undefined;

  constructor(globals: GlobalOptions) {
    this.globals = globals;
  }

  get json(): boolean {
    return this.globals.json;
  }

  get quiet(): boolean {
    return this.globals.quiet;
  }

  get operator(): string {
    return this.globals.operator;
  }

  /** The config module; required by every command that touches the store or partners. */
  config(): Promise<LoadedConfig> {
    this.#config ??= loadConfig(this.globals.config ?? defaultConfigPath);
    return this.#config;
  }

  /** The config when one is given or the default file exists; undefined otherwise (policy commands). */
  async optionalConfig(): Promise<LoadedConfig | undefined> {
    if (this.globals.config === undefined && !existsSync(resolve(defaultConfigPath))) return undefined;
    return this.config();
  }

  /** The policy the config names (or the package default); a broken policy is the loader's error on one line. */
  async policy(options: { configRequired: boolean } = { configRequired: true }): Promise<Policy> {
    const loaded = options.configRequired ? await this.config() : await this.optionalConfig();
    return loaded?.policyPath ? loadPolicyFile(loaded.policyPath) : loadPolicyFile();
  }

  logger(service: boolean): Logger {
    const level = this.globals.logLevel ?? process.env.PARTNER_GATEWAY_LOG_LEVEL ?? (service ? 'info' : 'silent');
    if (!(LOG_LEVELS as readonly string[]).includes(level)) {
      throw new CliError(`log level ${JSON.stringify(level)} is not one of ${LOG_LEVELS.join(', ')}`);
    }
    let format: { pretty?: boolean };
    try {
      format = logFormat(process.env.PARTNER_GATEWAY_LOG_FORMAT);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
    return pino({ name: 'partner-gateway', level }, logDestination({ fd: service ? 1 : 2, ...format }));
  }

  /** Opens the gateway once per process; close() stops it. */
  async gateway(request: GatewayRequest): Promise<Gateway> {
    if (this.#gateway) return this.#gateway;
    if (this.globals.server && !request.viaOps)
      throw new CliError('--server: this command opens the store itself; leave --server out');
    const { config } = await this.config();
    const policy = await this.policy();
    const database = databaseOptions(this.globals.dataDir, config.database);
    const pseudonymKey = process.env.PARTNER_GATEWAY_PSEUDONYM_KEY;
    if (!pseudonymKey) {
      throw new CliError(
        'PARTNER_GATEWAY_PSEUDONYM_KEY is not set: the gateway needs it (at least 16 characters) to derive per-partner pseudonyms',
      );
    }
    const digestKey = process.env.PARTNER_GATEWAY_DIGEST_KEY;
    const adapters =
      request.partners === 'offline' && !this.globals.sandbox
        ? (await this.enabledPartners(policy)).map(({ name }) => offlineAdapter(name))
        : request.partners
          ? await this.#adapters(policy, request.former)
          : [];
    const { createGateway } = await import('../gateway.ts');
    this.#gateway = await createGateway({
      policy,
      database,
      adapters,
      source: config.source,
      secrets: { pseudonymKey, ...(digestKey ? { digestKey } : {}) },
      logger: this.logger(request.service ?? false),
      ...(config.hooks ? { hooks: config.hooks } : {}),
      ...(config.limits ? { limits: config.limits } : {}),
      ...(config.retry ? { retry: config.retry } : {}),
      ...(request.observer ? { observer: request.observer } : {}),
      ...(request.keyRotation ? { keyRotation: true } : {}),
    });
    for (const adapter of adapters)
      this.#limits[adapter.partner] = { ...adapter.limits, ...config.limits?.[adapter.partner] };
    return this.#gateway;
  }

  /** The operator commands' side: a running ops server with --server, else the gateway in this process. */
  async ops(request: GatewayRequest): Promise<OpsClient> {
    if (this.globals.server) {
      const { remoteOps, OPS_TOKEN_VARIABLE } = await import('./remote-ops.ts');
      return remoteOps(this.globals.server, process.env[OPS_TOKEN_VARIABLE]);
    }
    if (request.readOnly && !process.env.PARTNER_GATEWAY_PSEUDONYM_KEY) {
      const { readOnlyOps } = await import('./read-only-ops.ts');
      return readOnlyOps(await this.#openReadOnly(request));
    }
    const gateway = await this.gateway({ ...request, viaOps: true });
    return localOps(gateway, (await this.config()).config.source);
  }

  /** The store opened to read, with the audit key when set and no pseudonym key; the partners named, not wired. */
  async #openReadOnly(request: GatewayRequest): Promise<ReadOnlyGateway> {
    const { config } = await this.config();
    const policy = await this.policy();
    const adapters = this.globals.sandbox
      ? await this.#adapters(policy)
      : (await this.enabledPartners(policy)).map(({ name }) => offlineAdapter(name));
    const { openReadOnlyGateway } = await import('../read-only-gateway.ts');
    this.#readOnlyGateway = await openReadOnlyGateway({
      policy,
      database: databaseOptions(this.globals.dataDir, config.database),
      adapters,
      logger: this.logger(request.service ?? false),
      ...(config.limits ? { limits: config.limits } : {}),
      ...(config.retry ? { retry: config.retry } : {}),
    });
    return this.#readOnlyGateway;
  }

  /** The transfer log, from the store (no partner is wired) or from the ops server. */
  async auditLog(): Promise<{ audit: Pick<Gateway['audit'], 'list' | 'verify' | 'checkpoint'> }> {
    const ops = await this.ops({ partners: false, readOnly: true });
    return {
      audit: {
        list: (filter = {}) => ops.auditList(filter),
        verify: (options) => ops.auditVerify(options),
        checkpoint: () => ops.auditCheckpoint(),
      },
    };
  }

  /** The rate limits the gateway paces each partner to (the adapter's, or the config's), once it is open. */
  partnerLimits(): Readonly<Record<string, { perSecond?: number | undefined }>> {
    return this.#limits;
  }

  /** The shipped partner modules and the config's own (which replace a shipped one of the same name), by name. */
  async partnerModules(): Promise<Map<string, PartnerModule<never>>> {
    const { config } = await this.config();
    const { partnerModules } = await import('../../adapters/index.ts');
    return new Map([...partnerModules, ...(config.modules ?? [])].map((m) => [m.partner, m]));
  }

  /** The partners to work with: the config's list (checked against the policy and the modules), or all. */
  async enabledPartners(policy: Policy): Promise<{ name: string; module: PartnerModule<never> }[]> {
    const { config, path } = await this.config();
    const modules = await this.partnerModules();
    if (config.partners === undefined) {
      return policy.partnerNames.filter((p) => modules.has(p)).map((name) => ({ name, module: modules.get(name)! }));
    }
    const problems: string[] = [];
    for (const name of config.partners) {
      if (!policy.partnerNames.includes(name))
        problems.push(`unknown partner '${name}' (the policy has ${policy.partnerNames.join(', ')})`);
      else if (!modules.has(name))
        problems.push(`no adapter for partner '${name}' in adapters/ or the config's modules`);
    }
    if (problems.length > 0) throw new CliError(`invalid config ${path}: partners: ${problems.join('; ')}`);
    return [...new Set(config.partners)].map((name) => ({ name, module: modules.get(name)! }));
  }

  async #adapters(policy: Policy, former?: string): Promise<PartnerAdapter[]> {
    const enabled = [
      ...(await this.enabledPartners(policy)),
      ...(former ? formerModule(policy, former, await this.partnerModules()) : []),
    ];
    const optionsFor = this.globals.sandbox ? await sandboxOptions(this.globals.sandbox, enabled) : envOptions(enabled);
    return enabled.map(({ name, module }) => {
      try {
        return module.createAdapter(optionsFor(name) as never);
      } catch (error) {
        throw new CliError(
          `cannot set up the ${name} adapter: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    });
  }

  /** Stops the gateway (in-flight jobs finish), closes the store. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#gateway?.stop();
      await this.#readOnlyGateway?.stop();
    })();
    return this.#closing;
  }
}

/** The module of a partner the policy no longer names (`offboard`): adapters/ or the config must still have it. */
function formerModule(
  policy: Policy,
  name: string,
  modules: ReadonlyMap<string, PartnerModule<never>>,
): { name: string; module: PartnerModule<never> }[] {
  if (policy.partnerNames.includes(name))
    throw usageError(`offboard: the policy still names '${name}' (remove it from the policy first)`);
  const module = modules.get(name);
  if (!module)
    throw usageError(
      `offboard: no adapter for partner '${name}' in adapters/ or the config's modules (known: ${[...modules.keys()].join(', ')})`,
    );
  return [{ name, module }];
}

/** An explicit --data-dir wins; then the config; then PARTNER_GATEWAY_DATABASE_URL; then the embedded store's directory. */
function databaseOptions(dataDir: string | undefined, configured: PartnerGatewayConfig['database']): DatabaseOptions {
  if (dataDir !== undefined) return { dataDir: resolve(dataDir) };
  if (typeof configured === 'string') return { url: configured };
  if (configured !== undefined)
    return 'dataDir' in configured ? { ...configured, dataDir: resolve(configured.dataDir) } : configured;
  if (process.env.PARTNER_GATEWAY_DATABASE_URL) return { url: process.env.PARTNER_GATEWAY_DATABASE_URL };
  return { dataDir: resolve(process.env.PARTNER_GATEWAY_DATA_DIR || './.partner-gateway') };
}

function envOptions(enabled: readonly { name: string; module: PartnerModule<never> }[]): (partner: string) => unknown {
  const options = new Map<string, unknown>();
  const problems: string[] = [];
  for (const { name, module } of enabled) {
    try {
      options.set(name, module.optionsFromEnv(process.env));
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  if (problems.length > 0) {
    throw new CliError(
      `partner credentials missing: ${problems.join('; ')} (set them, leave those partners out of the config's partners list, or use --sandbox)`,
    );
  }
  return (partner) => options.get(partner);
}

const sandboxPartnersSchemaCheck = (value: unknown): value is { partner: string; url: string }[] =>
  Array.isArray(value) && value.every((v) => typeof v?.partner === 'string' && typeof v?.url === 'string');

async function sandboxOptions(
  inspectUrl: string,
  enabled: readonly { name: string; module: PartnerModule<never> }[],
): Promise<(partner: string) => unknown> {
  let base: URL;
  try {
    base = new URL(inspectUrl);
  } catch {
    throw new CliError(
      `--sandbox ${JSON.stringify(inspectUrl)} is not a url (expected the sandbox's inspect url, e.g. http://127.0.0.1:4100)`,
    );
  }
  const url = new URL('partners', base.href.endsWith('/') ? base.href : `${base.href}/`);
  let body: unknown;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    body = await response.json();
  } catch (error) {
    const reason =
      error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new CliError(`cannot reach the sandbox at ${base.origin} (GET /partners): ${reason}`);
  }
  if (!sandboxPartnersSchemaCheck(body))
    throw new CliError(
      `the sandbox at ${base.origin} answered GET /partners with something that is not a partner list`,
    );
  const urls = new Map(body.map((p) => [p.partner, p.url]));
  const missing = enabled.filter(({ name }) => !urls.has(name)).map(({ name }) => name);
  if (missing.length > 0) {
    throw new CliError(
      `the sandbox at ${base.origin} serves no ${missing.join(', ')} (it serves ${[...urls.keys()].join(', ') || 'nothing'}): leave them out of the config's partners list`,
    );
  }
  const modules = new Map(enabled.map(({ name, module }) => [name, module]));
  return (partner) => modules.get(partner)!.sandboxOptions(urls.get(partner)!);
}
