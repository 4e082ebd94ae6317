import { createKeys, type Keys } from './keys.ts';
import type { Gateway, GatewayOptions } from './gateway-api.ts';
import { createCore } from './compose/core.ts';
import { openKeyedStore } from './compose/keyed-store.ts';
import { partnerCommands } from './compose/partner-commands.ts';
import { recordCommands } from './compose/record-commands.ts';
import { gatewaySettings } from './compose/settings.ts';
import { createLifecycle } from './lifecycle/index.ts';
import { missingRecords } from './missing-records.ts';
import { offboardingStatus } from './offboard.ts';
import { createOps } from './ops.ts';
import { createWorkers } from './workers.ts';

export type {
  Gateway,
  GatewayOptions,
  GatewayStatus,
  GatewayHealth,
  PartnerStatus,
  DeadLetter,
} from './gateway-api.ts';

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  return assembleGateway(options, createKeys(options.secrets));
}

/**
 * The composition root, on the keys given: createGateway's, or a read-only gateway's
 * (src/read-only-gateway.ts), whose keys refuse whatever needs the pseudonym key. Each part is built
 * from the ones before it (settings, store, core, lifecycle, workers, ops, commands), so nothing is
 * patched after construction.
 */
export async function assembleGateway(
  options: Omit<GatewayOptions, 'secrets'> & { readonly secrets: Partial<GatewayOptions['secrets']> },
  keys: Keys,
): Promise<Gateway> {
  const settings = gatewaySettings(options);
  const core = await createCore(options, settings, await openKeyedStore(options, keys));
  const { base, schedule, store } = core;
  const { policy, former, graceDays } = settings;
  const lifecycle = createLifecycle({
    ...base,
    hooks: options.hooks ?? {},
    enqueueSubject: schedule.enqueueSubject,
    logEvent: core.logEvent,
    subjectJobs: schedule.subjectJobs,
  });
  const records = recordCommands(core, lifecycle.api);
  const workers = createWorkers({
    ...base,
    schedule,
    recordedId: core.recordedId,
    observer: options.observer,
    batchSize: options.batchSize,
    onErased: lifecycle.internals.onPartnerErased,
    processDueErasures: records.processDueErasures,
  });
  let stopped = false;
  const ops = createOps({
    db: base.db,
    policy,
    keyring: base.keys.audit,
    partners: settings.partners,
    schedule,
    lifecycle: lifecycle.api,
    now: base.now,
    stopped: () => stopped,
    offboarding: () => offboardingStatus(base.db, policy, former),
    missingRecords: async () => {
      const missing = await missingRecords(base.db, graceDays);
      return { count: missing.length, oldest: missing.slice(0, 100) };
    },
  });
  return {
    ...lifecycle.api,
    ...ops,
    ...records,
    ...partnerCommands(core, lifecycle.internals, workers, options.keyRotation === true),
    policy: settings.resolvedPolicy,
    database: base.db,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      workers.stop();
      await schedule.stop();
      await ops.audit.seal().catch(() => undefined);
      await store.close();
    },
  };
}
