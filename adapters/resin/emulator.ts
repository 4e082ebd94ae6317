import { randomBytes } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse, Holding, PartnerEmulator } from '../../src/emulator.ts';

/** The key the emulator accepts unless told otherwise; sandboxOptions() hands it to the adapter. */
export const RESIN_SANDBOX_API_KEY = 'sandbox-balena-api-key';

/**
 * balena does not publish its API rate limit (its SDK only offers a client-side requestLimit); it
 * answers 429 with Retry-After when pushed. 10 requests/s is a conservative ceiling for one key.
 */
const PER_SECOND = 10;

export interface Device {
  id: number;
  uuid: string;
  device_name: string | null;
  ip_address: string | null;
  public_address: string | null;
  mac_address: string | null;
  latitude: string | null;
  longitude: string | null;
  custom_latitude: string | null;
  custom_longitude: string | null;
  /** What balena derives from the public address ("City, Region, Country"). */
  location: string | null;
  note: string | null;
  is_online: boolean;
  created_at: string;
}

/** What a camera reports about itself; the emulator fills in the rest. */
export type SeedDevice = Partial<Device>;

export type ResinEmulator = PartnerEmulator & {
  /** Cameras register and report themselves to balena, not through us: tests seed them here. */
  seedDevice(device?: SeedDevice): Device;
};

/**
 * Every field a device read may $select (balena-sdk's v7 model, Device.Read): a field the emulator
 * does not model answers null, as a real device that never reported it.
 */
const FIELDS = new Set([
  'created_at',
  'modified_at',
  'id',
  'actor',
  'api_heartbeat_state',
  'changed_api_heartbeat_state_on__date',
  'uuid',
  'local_id',
  'device_name',
  'note',
  'is_of__device_type',
  'belongs_to__application',
  'is_online',
  'last_connectivity_event',
  'is_connected_to_vpn',
  'last_vpn_event',
  'is_locked_until__date',
  'public_address',
  'ip_address',
  'mac_address',
  'memory_usage',
  'memory_total',
  'storage_block_device',
  'storage_usage',
  'storage_total',
  'cpu_usage',
  'cpu_temp',
  'is_undervolted',
  'cpu_id',
  'is_running__release',
  'download_progress',
  'status',
  'os_version',
  'os_variant',
  'supervisor_version',
  'provisioning_progress',
  'provisioning_state',
  'api_port',
  'api_secret',
  'is_managed_by__service_instance',
  'is_pinned_on__release',
  'should_be_running__release',
  'update_status',
  'last_update_status_event',
  'is_web_accessible',
  'is_frozen',
  'overall_status',
  'overall_progress',
  'latitude',
  'longitude',
  'custom_latitude',
  'custom_longitude',
  'location',
]);
/** Without $select, pine answers every field; the emulator answers those it models. */
const MODELLED = [
  'id',
  'uuid',
  'device_name',
  'ip_address',
  'public_address',
  'mac_address',
  'latitude',
  'longitude',
  'custom_latitude',
  'custom_longitude',
  'location',
  'note',
  'is_online',
  'created_at',
];
const PATCHABLE = new Set(['device_name', 'note', 'latitude', 'longitude']);

export interface ResinEmulatorOptions {
  readonly apiKey?: string;
}

export function createResinEmulator(options: ResinEmulatorOptions = {}): ResinEmulator {
  const key = options.apiKey ?? RESIN_SANDBOX_API_KEY;
  const devices = new Map<number, Device>();
  let next = 1001;

  function route(req: EmulatorRequest): EmulatorResponse {
    const single = /^\/v7\/device\((\d+)\)$/.exec(req.path);
    if (single?.[1] !== undefined) {
      const device = devices.get(Number(single[1]));
      if (req.method === 'GET') {
        const select = selection(req.query.get('$select'));
        if (!select) return failure(400, 'Bad Request');
        return { status: 200, body: { d: device ? [pick(device, select)] : [] } };
      }
      if (req.method === 'PATCH') {
        const body = json(req);
        const valid =
          body && Object.entries(body).every(([k, v]) => PATCHABLE.has(k) && (v === null || typeof v === 'string'));
        if (!valid) return failure(400, 'Bad Request');
        if (device) Object.assign(device, body);
        return OK_WITHOUT_BODY;
      }
      return failure(405, 'Method Not Allowed');
    }

    if (req.path !== '/v7/device') return failure(404, 'Not Found');
    const raw = req.query.get('$filter');
    const ids = raw === null ? undefined : filterIds(raw);
    if (raw !== null && !ids) return failure(400, 'Bad Request');
    if (req.method === 'GET') {
      const select = selection(req.query.get('$select'));
      if (!select) return failure(400, 'Bad Request');
      const matched = [...devices.values()].filter((d) => !ids || ids.includes(d.id));
      return { status: 200, body: { d: matched.map((d) => pick(d, select)) } };
    }
    if (req.method === 'DELETE') {
      // The real API would delete every device the key can see; the emulator refuses, so such a bug shows.
      if (!ids) return failure(400, 'Bad Request');
      for (const id of ids) devices.delete(id);
      return OK_WITHOUT_BODY;
    }
    return failure(405, 'Method Not Allowed');
  }

  return {
    partner: 'resin',
    limits: { perSecond: PER_SECOND },

    handle(req) {
      // pinejs ends an unauthorised request with no body at all.
      if (req.headers.authorization !== `Bearer ${key}`) return { status: 401 };
      return route(req);
    },

    rateLimited(retryAfterSeconds) {
      return {
        status: 429,
        headers: { 'retry-after': String(retryAfterSeconds), 'content-type': 'text/plain' },
        body: 'Too Many Requests',
      };
    },

    holdings() {
      const out: Record<string, Holding> = {};
      for (const d of devices.values()) {
        const personal: Record<string, unknown> = {};
        // Named by category root, as the Holding contract asks: both addresses are the ip_address category.
        if (d.ip_address) personal['ip_address.local'] = d.ip_address;
        if (d.public_address) personal['ip_address.public'] = d.public_address;
        for (const field of ['mac_address', 'device_name', 'note'] as const) {
          if (d[field]) personal[field] = d[field];
        }
        if (d.latitude || d.longitude) personal.location = { latitude: d.latitude, longitude: d.longitude };
        if (d.custom_latitude || d.custom_longitude)
          personal['location.custom'] = { latitude: d.custom_latitude, longitude: d.custom_longitude };
        if (d.location) personal['location.place'] = d.location;
        out[String(d.id)] = { personal, meta: { uuid: d.uuid, is_online: d.is_online, created_at: d.created_at } };
      }
      return out;
    },

    reset() {
      devices.clear();
      next = 1001;
    },

    seedDevice(seed = {}) {
      const device: Device = {
        id: next++,
        uuid: randomBytes(16).toString('hex'),
        device_name: null,
        ip_address: null,
        public_address: null,
        mac_address: null,
        latitude: null,
        longitude: null,
        custom_latitude: null,
        custom_longitude: null,
        location: null,
        note: null,
        is_online: true,
        created_at: new Date().toISOString(),
        ...seed,
      };
      next = Math.max(next, device.id + 1);
      devices.set(device.id, device);
      return device;
    },
  };
}

/** The two filter forms the adapter and the balena SDK use on ids: `id eq 1` and `id in (1,2)`. */
function filterIds(filter: string): number[] | undefined {
  const eq = /^\s*id\s+eq\s+(\d+)\s*$/.exec(filter);
  if (eq?.[1] !== undefined) return [Number(eq[1])];
  const list = /^\s*id\s+in\s+\(\s*(\d+(?:\s*,\s*\d+)*)\s*\)\s*$/.exec(filter);
  return list?.[1]?.split(',').map((s) => Number(s.trim()));
}

/** An unknown field in $select is a 400. */
function selection(select: string | null): string[] | undefined {
  if (select === null) return MODELLED;
  const fields = select.split(',').map((s) => s.trim());
  return fields.every((f) => FIELDS.has(f)) ? fields : undefined;
}

function pick(device: Device, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((f) => [f, device[f as keyof Device] ?? null]));
}

function json(req: EmulatorRequest): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(req.body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** pinejs answers a success of PATCH and DELETE with 200 and no body (respondPut). */
const OK_WITHOUT_BODY: EmulatorResponse = { status: 200 };

/** pinejs sends an error as res.json(message): the reason as a JSON string. */
function failure(status: number, reason: string): EmulatorResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(reason) };
}
