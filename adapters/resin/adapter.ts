import type { AxiosResponse } from 'axios';
import { z } from 'zod';
import { PartnerError, classifyHttpStatus, parseRetryAfter, type PartnerAdapter } from '../../src/adapter.ts';
import { createRestClient } from '../shared/rest-client.ts';

export const BALENA_BASE_URL = 'https://api.balena-cloud.com';

export interface ResinOptions {
  /** A balena named API key (or session token). */
  readonly apiKey: string;
  readonly baseUrl?: string;
  readonly timeoutMs?: number;
}

const PARTNER = 'resin';

/** The device fields that hold personal data (all reported by the camera or its network, none sent by us). */
export const DEVICE_PERSONAL_FIELDS = [
  'ip_address',
  'public_address',
  'mac_address',
  'latitude',
  'longitude',
  'device_name',
  'note',
] as const;

const text = z.string().nullish();
const devicesSchema = z.object({
  d: z.array(
    z.object({
      id: z.number(),
      ip_address: text,
      public_address: text,
      mac_address: text,
      latitude: text,
      longitude: text,
      device_name: text,
      note: text,
    }),
  ),
});

// balena answers errors with a plain-text reason; only these known phrases become codes, never other text.
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
  });

  /** The ids go into an OData filter: anything but a plain number could widen what a DELETE hits. */
  function deviceIds(operation: string, partnerIds: readonly string[]): string[] {
    if (!partnerIds.every((id) => /^[1-9]\d{0,15}$/.test(id))) {
      throw new PartnerError({ partner: PARTNER, operation, kind: 'permanent', code: 'invalid_device_id' });
    }
    return [...new Set(partnerIds)];
  }

  // Built by hand so spaces are %20: axios would write '+', which OData parsers need not read as a space.
  const byIds = (ids: readonly string[]) => `$filter=id%20in%20(${ids.join(',')})`;

  return {
    partner: PARTNER,
    // balena publishes no number; the same conservative ceiling as its emulator (see emulator.ts).
    limits: { perSecond: 10 },
    retainedAfterErasure: [
      'The camera is removed from balena: it must be re-provisioned before it can be updated or troubleshot again.',
      "balena keeps its own logs and audit records of the device (including IP addresses seen) under balena's retention, which deleting the device does not shorten.",
    ],

    async erase(ref, mode, ctx) {
      // Clearing fields is not erasure here: the camera's agent re-reports its addresses on every update.
      if (mode !== 'delete')
        throw new PartnerError({
          partner: PARTNER,
          operation: 'erase',
          kind: 'permanent',
          code: 'unsupported_erase_mode',
        });
      const ids = deviceIds('erase', ref.partnerIds);
      if (ids.length === 0) return { removed: [] };
      const res = await http.request('erase', { method: 'DELETE', url: `/v7/device?${byIds(ids)}` }, ctx);
      if (res.status !== 404) expectOk('erase', res);
      return { removed: ids };
    },

    async fetch(ref, ctx) {
      const ids = deviceIds('fetch', ref.partnerIds);
      if (ids.length === 0) return { found: false, fields: {} };
      const select = `$select=id,${DEVICE_PERSONAL_FIELDS.join(',')}`;
      const res = await http.request('fetch', { method: 'GET', url: `/v7/device?${byIds(ids)}&${select}` }, ctx);
      expectOk('fetch', res);
      const parsed = devicesSchema.safeParse(res.data);
      if (!parsed.success)
        throw new PartnerError({
          partner: PARTNER,
          operation: 'fetch',
          kind: 'permanent',
          status: res.status,
          code: 'unexpected_response',
        });

      // A subject can have several cameras: each field maps device id -> value, so nothing is merged away.
      const fields: Record<string, Record<string, unknown>> = {};
      const put = (field: string, id: number, value: unknown) => ((fields[field] ??= {})[String(id)] = value);
      for (const device of parsed.data.d) {
        for (const field of ['ip_address', 'public_address', 'mac_address', 'device_name', 'note'] as const) {
          if (device[field]) put(field, device.id, device[field]);
        }
        if (device.latitude || device.longitude)
          put('location', device.id, { latitude: device.latitude, longitude: device.longitude });
      }
      return { found: parsed.data.d.length > 0, fields };
    },
  };
}

function expectOk(operation: string, res: AxiosResponse): void {
  if (res.status >= 200 && res.status < 300) return;
  const kind = classifyHttpStatus(res.status);
  const reason = typeof res.data === 'string' ? res.data.trim() : undefined;
  const header: unknown = res.headers['retry-after'];
  throw new PartnerError({
    partner: PARTNER,
    operation,
    kind,
    status: res.status,
    code: reason && KNOWN_REASONS.has(reason) ? reason.toLowerCase().replaceAll(' ', '_') : undefined,
    retryAfterMs: kind === 'retryable' && typeof header === 'string' ? parseRetryAfter(header) : undefined,
  });
}
