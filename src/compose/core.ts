import { randomUUID } from 'node:crypto';
import type { PartnerAdapter } from '../adapter.ts';
import type { GatewayOptions } from '../gateway-api.ts';
import type { LifecycleDeps } from '../lifecycle/index.ts';
import { writeEvent } from '../log/transfer-log.ts';
import type { Schedule } from '../schedule/schedule.ts';
import { createSchedule } from '../schedule/schedule.ts';
import type { RecordSource } from '../source.ts';
import { createPacing } from '../transfer/create-pacing.ts';
import { recordedIds, type RecordedId } from '../transfer/log-ids.ts';
import { createTransfer, type Transfer } from '../transfer/transfer.ts';
import type { KeyedStore } from './keyed-store.ts';
import type { GatewaySettings } from './settings.ts';

/** What plan, the lifecycle, workers and the commands all work with. */
export interface Base {
  readonly db: KeyedStore['database'];
  readonly policy: GatewaySettings['policy'];
  readonly keys: KeyedStore['keys'];
  readonly adapters: ReadonlyMap<string, PartnerAdapter>;
  readonly now: () => Date;
  readonly logger: GatewaySettings['logger'];
  readonly transfer: Transfer;
  readonly source: RecordSource;
  readonly sourceTimeoutMs: number | undefined;
}

/** The gateway below its lifecycle: the store, the queue, the one outbound path, and the log. */
export interface Core {
  readonly settings: GatewaySettings;
  readonly store: KeyedStore;
  readonly schedule: Schedule;
  readonly recordedId: RecordedId;
  readonly base: Base;
  readonly logEvent: LifecycleDeps['logEvent'];
}

export async function createCore(
  options: Pick<GatewayOptions, 'limits' | 'observer' | 'source' | 'sourceTimeoutMs'>,
  settings: GatewaySettings,
  store: KeyedStore,
): Promise<Core> {
  const { database: db, keys, keyState } = store;
  const { adapters, logger, policy, retry } = settings;
  try {
    // Slots a dead worker leased come free no later than its jobs are retried (both at its heartbeat).
    const pacing = await createPacing(db, [...adapters.values()], options.limits, {
      slotLeaseSeconds: Math.max(10, retry.heartbeatSeconds),
    });
    const schedule = await createSchedule({ db, partners: settings.partners, retry, logger });
    const recordedId = recordedIds(keys, adapters);
    const transfer = createTransfer({
      db,
      policy,
      pacing,
      logger,
      observer: options.observer,
      recordedId,
      keys,
      keyState,
    });
    const logEvent: LifecycleDeps['logEvent'] = async (event, slot) => {
      await writeEvent(db, { ...event, correlationId: randomUUID(), policyDigest: policy.digest }, keys.audit, slot);
    };
    const { now } = settings;
    const base = {
      db,
      policy,
      keys,
      adapters,
      now,
      logger,
      transfer,
      source: options.source,
      sourceTimeoutMs: options.sourceTimeoutMs,
    };
    return { settings, store, schedule, recordedId, base, logEvent };
  } catch (error) {
    await store.close();
    throw error;
  }
}
