/**
 * The JSON API under /api/v1: what the CLI does, for the CLI's --server mode, the dashboard and
 * scripts. Read routes show ids, counts and field names; operator routes change state or show
 * personal data (access reports), and pass the token's name to the gateway as the operator, so the
 * transfer log says who did it.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { renderAccessReport } from '../index.ts';
import { allRows, csvHeader, csvRow } from './audit-csv.ts';
import { operatorOf } from './auth.ts';
import { allows } from './tokens.ts';
import { ApiError } from './http-errors.ts';
import type { OpsMetrics } from './metrics.ts';
import type { OpsGateway } from './ops-gateway.ts';
import { partnerOverview } from './overview.ts';
import {
  accessQuery,
  anyJson,
  auditExportQuery,
  auditQuery,
  auditVerifyBody,
  consentBody,
  consentParams,
  deadLettersQuery,
  driftBody,
  errorResponse,
  reasonBody,
  resyncBody,
  retryBody,
  subjectParams,
  erasurePartnerParams,
  resolutionBody,
} from './schemas.ts';

export interface ApiDeps {
  readonly gateway: OpsGateway;
  readonly metrics: OpsMetrics;
  readonly partnerLimits: Readonly<Record<string, { readonly perSecond?: number | undefined }>>;
  readonly version: string;
}

const errors = { 400: errorResponse, 401: errorResponse, 403: errorResponse };

export function registerApiRoutes(parent: FastifyInstance, deps: ApiDeps): void {
  const app = parent.withTypeProvider<ZodTypeProvider>();
  const { gateway } = deps;
  const read = { role: 'read' as const };
  const operator = { role: 'operator' as const };

  const knownPartners = async () => (await gateway.status()).partners.map((p) => p.partner);
  const checkPartners = async (partners: readonly string[]) => {
    const known = await knownPartners();
    const unknown = partners.filter((p) => !known.includes(p));
    if (unknown.length > 0)
      throw new ApiError(400, `unknown partner ${unknown.join(', ')}: expected one of ${known.join(', ') || 'none'}`);
  };
  const logChange = (operatorName: string, action: string, fields: Record<string, unknown> = {}) =>
    app.log.info({ operator: operatorName, action, ...fields }, `ops api: ${action}`);

  // Personal data (access reports) and operator state must not sit in caches on the way.
  app.addHook('onSend', async (request, reply) => {
    if (request.url.startsWith('/api/')) void reply.header('cache-control', 'no-store');
  });

  app.get(
    '/api/v1/whoami',
    {
      config: read,
      schema: {
        tags: ['probes'],
        summary: "The token's name and role",
        response: { 200: anyJson('{ name, role }'), ...errors },
      },
    },
    async (request) => request.caller,
  );

  app.get(
    '/api/v1/status',
    {
      config: read,
      schema: {
        tags: ['queues'],
        summary: 'Queues per partner, erasures pending and overdue, unsealed log rows',
        response: { 200: anyJson('GatewayStatus'), ...errors },
      },
    },
    async () => gateway.status(),
  );

  app.get(
    '/api/v1/overview',
    {
      config: read,
      schema: {
        tags: ['queues'],
        summary: 'What the dashboard shows: per partner queue depth, rate use, failures, pauses; erasures',
        response: { 200: anyJson('Overview'), ...errors },
      },
    },
    async () => {
      const [status, pending] = await Promise.all([gateway.status(), gateway.pendingErasures()]);
      return {
        version: deps.version,
        generatedAt: new Date(),
        partners: partnerOverview(status, deps.metrics, deps.partnerLimits),
        erasures: {
          ...status.erasures,
          pending: pending.map((e) => ({
            subjectId: e.subjectId,
            dueAt: e.dueAt,
            complete: e.complete,
            partners: e.partners.map((p) => ({ partner: p.partner, state: p.state })),
          })),
          pendingCount: status.erasures.pending,
        },
        log: status.log,
      };
    },
  );

  app.get(
    '/api/v1/dead-letters',
    {
      config: read,
      schema: {
        tags: ['queues'],
        summary: 'Jobs that ran out of retries (subject ids and the last error, never a personal value)',
        querystring: deadLettersQuery,
        response: { 200: anyJson('DeadLetter[]'), ...errors },
      },
    },
    async (request) => {
      if (request.query.partner) await checkPartners([request.query.partner]);
      return gateway.deadLetters(request.query.partner);
    },
  );

  app.post(
    '/api/v1/dead-letters/retry',
    {
      config: operator,
      schema: {
        tags: ['queues'],
        summary: "Put a partner's dead letters (all, or the ids given) back on its queue",
        body: retryBody,
        response: { 200: anyJson('{ partner, requeued, deadLetters }'), ...errors, 404: errorResponse },
      },
    },
    async (request) => {
      const { partner, ids } = request.body;
      await checkPartners([partner]);
      if (ids) {
        const known = new Set((await gateway.deadLetters(partner)).map((d) => d.id));
        const missing = ids.filter((id) => !known.has(id));
        if (missing.length > 0) throw new ApiError(404, `no dead letter ${missing.join(', ')} at ${partner}`);
      }
      const name = operatorOf(request);
      const requeued = await gateway.redrive(partner, ids, { operator: name });
      logChange(name, 'dead letters retried', { partner, requeued });
      return { partner, requeued, deadLetters: (await gateway.deadLetters(partner)).length };
    },
  );

  app.get(
    '/api/v1/erasures',
    {
      config: read,
      schema: {
        tags: ['subjects'],
        summary: 'Erasures due or overdue and not complete',
        response: { 200: anyJson('ErasureStatus[]'), ...errors },
      },
    },
    async () => gateway.pendingErasures(),
  );

  app.get(
    '/api/v1/erasures/:subject',
    {
      config: read,
      schema: {
        tags: ['subjects'],
        summary: "A subject's erasure: each partner's state, what partners keep",
        params: subjectParams,
        response: { 200: anyJson('ErasureStatus'), ...errors },
      },
    },
    async (request) => gateway.erasureStatus(request.params.subject),
  );

  app.post(
    '/api/v1/subjects/:subject/erase',
    {
      config: operator,
      schema: {
        tags: ['subjects'],
        summary: 'Erase the subject at every partner, now and for good (the workers carry it out)',
        params: subjectParams,
        body: reasonBody,
        response: { 200: anyJson('ErasureStatus'), ...errors },
      },
    },
    async (request) => {
      const name = operatorOf(request);
      const status = await gateway.erase(request.params.subject, { reason: request.body.reason, operator: name });
      logChange(name, 'erasure requested', { subjectId: request.params.subject });
      return status;
    },
  );

  app.post(
    '/api/v1/erasures/:subject/partners/:partner/resolve',
    {
      config: operator,
      schema: {
        tags: ['subjects'],
        summary:
          "Settle what the gateway cannot at a partner (state 'unknown': a lost answer; 'conflict': a record another subject claims)",
        params: erasurePartnerParams,
        body: resolutionBody,
        response: { 200: anyJson('ErasureStatus'), ...errors },
      },
    },
    async (request) => {
      const name = operatorOf(request);
      const { subject, partner } = request.params;
      const status = await gateway.resolveErasure(subject, partner, {
        resolution: request.body.resolution,
        operator: name,
      });
      logChange(name, 'erasure resolved', { subjectId: subject, partner, resolution: request.body.resolution });
      return status;
    },
  );

  app.post(
    '/api/v1/subjects/:subject/restrict',
    {
      config: operator,
      schema: {
        tags: ['subjects'],
        summary: 'Restrict processing: partners are sent nothing new for the subject until unrestricted',
        params: subjectParams,
        body: reasonBody,
        response: { 200: anyJson('{ subjectId, restricted }'), ...errors },
      },
    },
    async (request) => {
      const name = operatorOf(request);
      await gateway.restrict(request.params.subject, request.body.reason, { operator: name });
      logChange(name, 'restricted', { subjectId: request.params.subject });
      return { subjectId: request.params.subject, restricted: true };
    },
  );

  app.post(
    '/api/v1/subjects/:subject/unrestrict',
    {
      config: operator,
      schema: {
        tags: ['subjects'],
        summary: 'Lift a restriction: partners are brought back in step',
        params: subjectParams,
        response: { 200: anyJson('{ subjectId, restricted }'), ...errors },
      },
    },
    async (request) => {
      const name = operatorOf(request);
      await gateway.unrestrict(request.params.subject, { operator: name });
      logChange(name, 'unrestricted', { subjectId: request.params.subject });
      return { subjectId: request.params.subject, restricted: false };
    },
  );

  app.post(
    '/api/v1/subjects/:subject/consent/:verb',
    {
      config: operator,
      schema: {
        tags: ['subjects'],
        summary: 'Record a consent grant or withdrawal (consent-based partners follow)',
        params: consentParams,
        body: consentBody,
        response: { 200: anyJson('ConsentEntry'), ...errors },
      },
    },
    async (request) => {
      const { subject, verb } = request.params;
      const { purpose, source, evidence } = request.body;
      const purposes = Object.entries(gateway.policy.document.purposes)
        .filter(([, p]) => p.legalBasis === 'consent')
        .map(([n]) => n);
      if (!purposes.includes(purpose))
        throw new ApiError(400, `purpose: not a consent-based purpose in the policy (expected ${purposes.join(', ')})`);
      const name = operatorOf(request);
      const input = { source, operator: name, ...(evidence ? { evidence } : {}) };
      const entry =
        verb === 'grant'
          ? await gateway.consent.grant(subject, purpose, input)
          : await gateway.consent.withdraw(subject, purpose, input);
      logChange(name, `consent ${verb === 'grant' ? 'granted' : 'withdrawn'}`, { subjectId: subject, purpose });
      return entry;
    },
  );

  app.get(
    '/api/v1/subjects/:subject/consent',
    {
      config: operator,
      schema: {
        tags: ['subjects'],
        summary: "The subject's consent ledger",
        params: subjectParams,
        response: { 200: anyJson('ConsentEntry[]'), ...errors },
      },
    },
    async (request) => gateway.consent.history(request.params.subject),
  );

  app.get(
    '/api/v1/subjects/:subject/access',
    {
      config: operator,
      schema: {
        tags: ['subjects'],
        summary:
          'The access report: what each partner holds, what was sent when and why (personal data, for the subject only)',
        params: subjectParams,
        querystring: accessQuery,
        response: { 200: anyJson('AccessReport (json), or the rendered report (md, html)'), ...errors },
      },
    },
    async (request, reply) => {
      const { format, lang, live } = request.query;
      const report = await gateway.access(request.params.subject, { live });
      if (format === 'json') return report;
      const text = renderAccessReport(report, gateway.policy, { format, lang });
      // A report opened on its own runs no script and loads nothing, whatever a partner's answer held.
      if (format === 'html')
        void reply.header('content-security-policy', "sandbox; default-src 'none'; style-src 'unsafe-inline'");
      return reply.type(format === 'html' ? 'text/html; charset=utf-8' : 'text/markdown; charset=utf-8').send(text);
    },
  );

  app.post(
    '/api/v1/resync',
    {
      config: operator,
      schema: {
        tags: ['queues'],
        summary: 'Bring partners in step with the master records: count (dry run) or enqueue what differs',
        body: resyncBody,
        response: { 200: anyJson('ResyncSummary'), ...errors },
      },
    },
    async (request) => {
      const { dryRun, partners, subjects, force, allowMassDeletion } = request.body;
      if (partners) await checkPartners(partners);
      const name = operatorOf(request);
      const summary = await gateway.resync({
        dryRun,
        force,
        operator: name,
        ...(partners ? { partner: partners } : {}),
        ...(subjects ? { subjects } : {}),
        ...(allowMassDeletion ? { allowMassDeletion } : {}),
      });
      if (!dryRun)
        logChange(name, 'resync', {
          enqueued: summary.enqueued,
          correlationId: summary.correlationId,
          ...(summary.deletions.overridden ? { massDeletionAllowed: true } : {}),
        });
      return summary;
    },
  );

  // Reading drift asks the partners live but returns only ids and found / not found, never what they
  // hold: a read token may. Repairing changes partners: the operator role, checked in the handler.
  app.post(
    '/api/v1/drift',
    {
      config: read,
      schema: {
        tags: ['queues'],
        summary:
          'Ask partners what they hold (found / not found) and compare with what the gateway believes; repair needs the operator role',
        body: driftBody,
        response: { 200: anyJson('DriftReport'), ...errors },
      },
    },
    async (request) => {
      const { subjects, partner, sample, repair } = request.body;
      const caller = request.caller!;
      if (repair && !allows(caller, 'operator'))
        throw new ApiError(403, `repair needs the operator role; the token of ${caller.name} has role read`);
      if (partner) await checkPartners([partner]);
      const name = operatorOf(request);
      const report = await gateway
        .drift({
          ...(subjects ? { subjects } : {}),
          ...(partner ? { partner } : {}),
          sample,
          repair,
          operator: name,
        })
        .catch((error: unknown) => {
          // Its own refusals (a partner that cannot fetch) name the partner and the rule, nothing else.
          if (error instanceof Error && error.message.startsWith('drift: ')) throw new ApiError(400, error.message);
          throw error;
        });
      logChange(name, repair ? 'drift repair' : 'drift check', {
        checked: report.checked,
        differences: report.findings.length,
        repairsEnqueued: report.findings.filter((f) => f.repairEnqueued).length,
      });
      return report;
    },
  );

  app.get(
    '/api/v1/audit',
    {
      config: read,
      schema: {
        tags: ['audit'],
        summary: 'Transfer log rows, oldest first (field names and digests, never a personal value)',
        querystring: auditQuery,
        response: { 200: anyJson('TransferRow[]'), ...errors },
      },
    },
    async (request) => {
      const { subject, partner, since, after, limit } = request.query;
      return gateway.audit.list({
        ...(subject ? { subjectId: subject } : {}),
        ...(partner ? { partner } : {}),
        ...(since ? { since } : {}),
        ...(after ? { afterSeq: after } : {}),
        limit,
      });
    },
  );

  app.get(
    '/api/v1/audit/verify',
    {
      config: read,
      schema: {
        tags: ['audit'],
        summary: 'Recompute the hash chain (sealing what is unsealed first); ok false names the rows',
        response: { 200: anyJson('VerifyResult'), ...errors },
      },
    },
    async () => gateway.audit.verify(),
  );

  // Checkpoints are kept where the database cannot reach: the client sends them (audit verify --against).
  app.post(
    '/api/v1/audit/verify',
    {
      config: read,
      // A year of hourly checkpoints is about 4 MB.
      bodyLimit: 32 * 1_048_576,
      schema: {
        tags: ['audit'],
        summary:
          'As GET, and hold the log to checkpoints exported earlier: a wipe, a cut tail or a recomputed chain shows',
        body: auditVerifyBody,
        response: { 200: anyJson('VerifyResult'), ...errors },
      },
    },
    async (request) => gateway.audit.verify({ against: request.body.against }),
  );

  app.post(
    '/api/v1/audit/checkpoint',
    {
      config: read,
      schema: {
        tags: ['audit'],
        summary:
          'Seal, then the signed chain head as a checkpoint to keep outside the database; 409 when the head does not verify',
        response: { 200: anyJson('Checkpoint'), ...errors, 409: errorResponse },
      },
    },
    async () => gateway.audit.checkpoint(),
  );

  app.get(
    '/api/v1/audit/export',
    {
      config: read,
      schema: {
        tags: ['audit'],
        summary: 'Every matching log row, streamed as JSON lines or CSV',
        querystring: auditExportQuery,
      },
    },
    async (request, reply) => {
      const { format, subject, partner, since } = request.query;
      const filter = {
        ...(subject ? { subjectId: subject } : {}),
        ...(partner ? { partner } : {}),
        ...(since ? { since } : {}),
      };
      const pages = allRows((page) => gateway.audit.list({ ...filter, ...page }));
      async function* body() {
        if (format === 'csv') yield csvHeader;
        for await (const rows of pages)
          yield rows.map(format === 'csv' ? csvRow : (r) => `${JSON.stringify(r)}\n`).join('');
      }
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
        .send(Readable.from(body()));
    },
  );
}
