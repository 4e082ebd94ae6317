/**
 * The emulator contract: each partner folder ships an emulator of the API its adapter uses, faithful
 * enough that the real SDK talks to it unchanged. src/sandbox serves emulators on loopback and adds
 * what is common to all of them (rate limits, fault injection, request log, inspection).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { PartnerAdapter } from './adapter.ts';

export interface EmulatorRequest {
  readonly method: string;
  /** The path without the query string, e.g. /v1/customers/cus_123. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface EmulatorResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** An object is sent as JSON; a string or Buffer as is; undefined as an empty body. */
  readonly body?: unknown;
}

/** The partner's documented limits, which the sandbox enforces when limits are on. */
export interface EmulatorLimits {
  /** Steady request rate, per second. */
  readonly perSecond?: number;
  /** A fixed window: at most `max` requests per `ms` (Intercom: 10,000/min in 10-second windows). */
  readonly window?: { readonly ms: number; readonly max: number };
  /** Concurrent connections (Mailchimp: 10). */
  readonly maxConcurrent?: number;
  /** Which requests count against the limits (Twilio: only placing calls). Default: all. */
  readonly counts?: (req: EmulatorRequest) => boolean;
}

export interface PartnerEmulator {
  readonly partner: string;
  readonly limits: EmulatorLimits;
  handle(req: EmulatorRequest): EmulatorResponse | Promise<EmulatorResponse>;
  /** The partner's own "too many requests" answer (status, headers and body as the real API sends). */
  rateLimited(retryAfterSeconds: number): EmulatorResponse;
  /** What the partner holds now, keyed by the partner's own id for each record. */
  holdings(): Record<string, Holding>;
  reset(): void;
}

export interface Holding {
  /**
   * The personal fields held, named by category root so a check can map them to the policy:
   * 'name' (or 'name.given' / 'name.family'), 'email', 'phone', 'address' (or 'address.street', ...),
   * 'ip_address', 'mac_address', 'location'... Only what is actually held (no empty values).
   */
  readonly personal: Readonly<Record<string, unknown>>;
  /** The partner's bookkeeping that inspection shows: status, metadata, timestamps. Never personal. */
  readonly meta: Readonly<Record<string, unknown>>;
}

/** An environment variable a partner module reads. */
export interface EnvVariable {
  readonly name: string;
  readonly required: boolean;
  /** What it is, in a few words (README's list and help texts say the same). */
  readonly description: string;
}

/** One partner folder's exports, so the composition root and the sandbox can wire every partner alike. */
export interface PartnerModule<Options = unknown> {
  readonly partner: string;
  /**
   * Reads credentials and base URL from the variables in `environment`, and no others. A missing or
   * invalid variable throws an Error that names every such variable, never a value:
   * "stripe: environment variable STRIPE_API_KEY is missing".
   */
  optionsFromEnv(env: Readonly<Record<string, string | undefined>>): Options;
  /** Every variable optionsFromEnv reads. */
  readonly environment: readonly EnvVariable[];
  /** Options that point the adapter at a sandbox emulator served at baseUrl, with dummy credentials. */
  sandboxOptions(baseUrl: string): Options;
  createAdapter(options: Options): PartnerAdapter;
  createEmulator(): PartnerEmulator;
}
