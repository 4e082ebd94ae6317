/**
 * The operator commands against a running ops server (`--server URL`, token in
 * PARTNER_GATEWAY_OPS_TOKEN): nothing is opened locally, so they work while a worker or the host holds
 * the embedded store, and need neither the pseudonym key nor partner credentials. The server acts with
 * the token's name as the operator, whatever --operator says.
 */
import type {
  ConsentEntry,
  DeadLetter,
  DriftReport,
  ErasureStatus,
  GatewayStatus,
  ResyncSummary,
  TransferRow,
  VerifyResult,
} from '../index.ts';
import type { Checkpoint } from '../log/checkpoint.ts';
import { CliError, EXIT_USAGE } from './errors.ts';
import { QueuesNotIdle, checkPartnerNames, type OpsClient } from './ops-client.ts';

export const OPS_TOKEN_VARIABLE = 'PARTNER_GATEWAY_OPS_TOKEN';

/** Fields the API sends as ISO strings that the commands treat as dates. */
const DATE_FIELDS = new Set(['at', 'createdOn', 'dueAt', 'completedAt', 'generatedAt', 'since']);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const revive = (key: string, value: unknown) =>
  DATE_FIELDS.has(key) && typeof value === 'string' && ISO.test(value) ? new Date(value) : value;

const POLL_MS = 500;

export function remoteOps(serverUrl: string, token: string | undefined): OpsClient {
  let base: URL;
  try {
    base = new URL(serverUrl.endsWith('/') ? serverUrl : `${serverUrl}/`);
  } catch {
    throw new CliError(`--server: not a url (expected the ops server's base url, e.g. http://127.0.0.1:8080)`);
  }
  if (!token)
    throw new CliError(`${OPS_TOKEN_VARIABLE} is not set: the ops server at ${base.origin} needs a bearer token`);

  const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> => {
    let response: Response;
    try {
      response = await fetch(new URL(path, base), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(300_000),
      });
    } catch (error) {
      const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : '';
      throw new CliError(`cannot reach the ops server at ${base.origin}: ${reason}`);
    }
    if (!response.ok) {
      const text = await response.text();
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? message;
      } catch {
        // Not JSON: a proxy's page; its first characters say enough.
      }
      throw new CliError(
        `the ops server answered ${method} /${path} with HTTP ${response.status}: ${message}`,
        response.status === 400 ? EXIT_USAGE : 1,
      );
    }
    return response;
  };
  const json = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> =>
    JSON.parse(await (await call(method, path, body)).text(), revive) as T;
  const query = (params: Record<string, string | number | boolean | Date | undefined>) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params))
      if (v !== undefined) q.set(k, v instanceof Date ? v.toISOString() : String(v));
    const text = q.toString();
    return text ? `?${text}` : '';
  };
  const subject = (id: string) => `api/v1/subjects/${encodeURIComponent(id)}`;
  const status = () => json<GatewayStatus>('GET', 'api/v1/status');

  return {
    remote: true,
    status,
    deadLetters: (partner) => json<DeadLetter[]>('GET', `api/v1/dead-letters${query({ partner })}`),
    redrive: async (partner, ids) =>
      (
        await json<{ requeued: number }>('POST', 'api/v1/dead-letters/retry', {
          partner,
          ...(ids ? { ids } : {}),
        })
      ).requeued,
    erase: (id, reason) => json<ErasureStatus>('POST', `${subject(id)}/erase`, { reason }),
    // The server does not say whether its record source knows an id: the CLI cannot tell.
    sourceKnows: async () => undefined,
    erasureStatus: (id) => json<ErasureStatus>('GET', `api/v1/erasures/${encodeURIComponent(id)}`),
    restrict: async (id, reason) => void (await json('POST', `${subject(id)}/restrict`, { reason })),
    unrestrict: async (id) => void (await json('POST', `${subject(id)}/unrestrict`, {})),
    consent: (verb, id, purpose, input) =>
      json<ConsentEntry>('POST', `${subject(id)}/consent/${verb}`, {
        purpose,
        source: input.source,
        ...(input.evidence ? { evidence: input.evidence } : {}),
      }),
    accessText: async (id, options) => {
      const response = await call('GET', `${subject(id)}/access${query({ ...options })}`);
      const text = await response.text();
      // JSON as the local command prints it: indented, one document.
      return options.format === 'json' ? `${JSON.stringify(JSON.parse(text), null, 2)}\n` : text;
    },
    resync: (options) =>
      json<ResyncSummary>('POST', 'api/v1/resync', {
        dryRun: options.dryRun === true,
        force: options.force === true,
        ...(options.partner ? { partners: [options.partner].flat() } : {}),
        ...(options.subjects ? { subjects: options.subjects } : {}),
        ...(options.allowMassDeletion ? { allowMassDeletion: true } : {}),
      }),
    drift: (options) =>
      json<DriftReport>('POST', 'api/v1/drift', {
        ...(options.subjects ? { subjects: options.subjects } : {}),
        ...(options.partner ? { partner: options.partner } : {}),
        ...(options.sample !== undefined ? { sample: options.sample } : {}),
        repair: options.repair === true,
      }),
    auditList: (filter) =>
      json<TransferRow[]>(
        'GET',
        `api/v1/audit${query({
          subject: filter.subjectId,
          partner: filter.partner,
          since: filter.since,
          after: filter.afterSeq,
          limit: filter.limit,
        })}`,
      ),
    auditVerify: (options = {}) =>
      options.against
        ? json<VerifyResult>('POST', 'api/v1/audit/verify', { against: options.against })
        : json<VerifyResult>('GET', 'api/v1/audit/verify'),
    // Not json(): a checkpoint's times stay the strings its signature covers.
    auditCheckpoint: async () => (await call('POST', 'api/v1/audit/checkpoint')).json() as Promise<Checkpoint>,
    workOff: async ({ timeoutMs, waitForRetries }) => {
      // The server's workers do the work; the status says when nothing is left for them now.
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const now = await status();
        const left = now.partners.reduce((n, p) => n + p.queued + p.active + (waitForRetries ? p.retrying : 0), 0);
        if (left === 0) return;
        if (Date.now() > deadline) throw new QueuesNotIdle(timeoutMs);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    },
    checkPartners: (partners) => checkPartnerNames(undefined, partners, status()),
    // The server checks the purpose against its policy.
    checkConsentPurpose: () => undefined,
  };
}
