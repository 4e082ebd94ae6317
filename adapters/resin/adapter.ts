import { z } from 'zod';
import type { PartnerAdapter } from '../../src/adapter.ts';
import { gatewayErrors } from '../common/errors.ts';
import { requestsPerSecond } from '../common/limits.ts';
import { boundedFields } from '../common/results.ts';
import { createRestClient, isSuccess, type RestAnswer } from '../common/rest-client.ts';

export const BALENA_BASE_URL = 'https://api.balena-cloud.com';

export interface ResinOptions {
  /** A balena named API key (or session token). */
  readonly apiKey: string;
  readonly baseUrl?: string;
  readonly timeoutMs?: number;
  /** Requests per second to keep to. Default 10 (balena publishes no number). */
  readonly requestsPerSecond?: number;
}

const PARTNER = 'resin';
const fail = gatewayErrors(PARTNER);

/** The device fields that hold personal data (all reported by the camera or its network, none sent by us). */
export const DEVICE_PERSONAL_FIELDS = [
  'ip_address',
  'public_address',
  'mac_address',
  'latitude',
  'longitude',
  'custom_latitude',
  'custom_longitude',
  'location',
  'device_name',
  'note',
] as const;

// Each selected field is read as whatever balena answers and bounded by boundedFields: the camera
// and its owner write them (a note, a custom location), so nothing about their shape is assumed.
const devicesSchema = z.object({
  d: z.array(
    z
      .object({ id: z.number() })
      .extend(Object.fromEntries(DEVICE_PERSONAL_FIELDS.map((f) => [f, z.unknown().optional()]))),
  ),
});

const KNOWN_REASONS = new Set([
  'Unauthorized',
  'Forbidden',
  'Bad Request',
  'Not Found',
  'Too Many Requests',
  'Internal Server Error',
  'Service Unavailable',
]);

export function createResinAdapter(options: ResinOptions): PartnerAdapter {
  if (!options.apiKey) throw new Error('resin: apiKey is required');
  const http = createRestClient({
    partner: PARTNER,
    baseUrl: options.baseUrl ?? BALENA_BASE_URL,
    headers: { Authorization: `Bearer ${options.apiKey}` },
    timeoutMs: options.timeoutMs,
    errorCode: reasonCode,
  });

  /** The ids go into an OData filter: anything but a plain number could widen what a DELETE hits. */
  function deviceIds(operation: string, partnerIds: readonly string[]): string[] {
    if (!partnerIds.every((id) => /^[1-9]\d{0,15}$/.test(id))) throw fail(operation, 'permanent', 'invalid_partner_id');
    return [...new Set(partnerIds)];
  }

  // Built by hand so spaces are %20: URLSearchParams would write '+', which OData parsers need not read as a space.
  const byIds = (ids: readonly string[]) => `$filter=id%20in%20(${ids.join(',')})`;

  return {
    partner: PARTNER,
    // balena publishes no number; the same conservative ceiling as its emulator (see emulator.ts).
    limits: { perSecond: requestsPerSecond(PARTNER, options.requestsPerSecond, 10) },
    retainedAfterErasure: [
      'The camera is removed from balena: it must be re-provisioned before it can be updated or troubleshot again.',
      "balena keeps its own logs and audit records of the device (including IP addresses seen) under balena's retention, which deleting the device does not shorten.",
    ],

    async erase(ref, mode, ctx) {
      // Clearing fields is not erasure here: the camera's agent re-reports its addresses on every update.
      if (mode !== 'delete') throw fail('erase', 'permanent', 'unsupported_erase_mode');
      const ids = deviceIds('erase', ref.partnerIds);
      if (ids.length === 0) return { removed: [] };
      const res = await http.send('erase', { method: 'DELETE', url: `/v7/device?${byIds(ids)}` }, ctx);
      if (res.status !== 404 && !isSuccess(res)) throw http.error('erase', res);
      return { removed: ids };
    },

    async fetch(ref, ctx) {
      const ids = deviceIds('fetch', ref.partnerIds);
      if (ids.length === 0) return { found: false, fields: {} };
      const select = `$select=id,${DEVICE_PERSONAL_FIELDS.join(',')}`;
      const res = await http.expectOk('fetch', { method: 'GET', url: `/v7/device?${byIds(ids)}&${select}` }, ctx);
      const parsed = devicesSchema.safeParse(res.data);
      if (!parsed.success) throw fail('fetch', 'permanent', 'unexpected_answer', { status: res.status });

      // A subject can have several cameras: 'ip_address.<device id>', so nothing is merged away. The field
      // name comes first because the policy maps a held path to a category by its leading segments.
      const fields: Record<string, unknown> = {};
      for (const device of parsed.data.d) {
        for (const field of DEVICE_PERSONAL_FIELDS)
          Object.assign(fields, boundedFields(device[field], `${field}.${device.id}`));
      }
      return { found: parsed.data.d.length > 0, fields };
    },
  };
}

/** balena answers errors with a plain-text reason: only the known phrases become codes, never other text. */
function reasonCode(answer: RestAnswer): string | undefined {
  const reason = typeof answer.data === 'string' ? answer.data.trim() : undefined;
  return reason && KNOWN_REASONS.has(reason) ? reason.toLowerCase().replaceAll(' ', '_') : undefined;
}
