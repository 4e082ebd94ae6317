import { detectDrift } from '../drift.ts';
import type { Gateway } from '../gateway-api.ts';
import { inputs } from '../lifecycle/inputs.ts';
import type { LifecycleInternals } from '../lifecycle/index.ts';
import { offboardingStatus, offboardPartner } from '../offboard.ts';
import { rotatePseudonymKey } from '../rotation/rotate.ts';
import { performAction } from '../transfer/action.ts';
import type { Workers } from '../workers.ts';
import type { Core } from './core.ts';

export type PartnerCommands = Pick<
  Gateway,
  'drift' | 'call' | 'offboard' | 'offboarding' | 'rotatePseudonymKey' | 'work' | 'runUntilIdle'
>;

/** What an operator does at the partners: compare, act, offboard, rotate the key, and work the queues. */
export function partnerCommands(
  core: Core,
  lifecycle: LifecycleInternals,
  workers: Workers,
  keyRotation: boolean,
): PartnerCommands {
  const { base, schedule, settings, store } = core;
  const { policy, former, partners } = settings;
  // A gateway opened for a rotation works the rotation only: the queues wait for the new key.
  const refuseDuringRotation = (what: string) => {
    if (keyRotation)
      throw new Error(`${what}: this gateway was opened for a pseudonym key rotation, which runs no workers`);
  };
  return {
    drift: async (driftOptions = {}) => {
      const report = await detectDrift({ ...base, enqueue: schedule.enqueue }, driftOptions);
      const { operator } = driftOptions;
      await core.logEvent({ operation: 'drift_check', trigger: 'ops', ...(operator ? { operator } : {}) });
      return report;
    },
    call: async (subjectId, action, params, callOptions = {}) => {
      const partner = callOptions.partner ?? partners.find((p) => policy.partner(p).mode === 'action');
      if (!partner) throw new Error('no action partner is configured');
      return performAction(base, partner, inputs.subjectId(subjectId), action, params, callOptions.operator);
    },
    offboarding: (partner) => offboardingStatus(base.db, policy, former, partner),
    offboard: (partner, offboardOptions) =>
      offboardPartner({ db: base.db, policy, former, schedule, keyring: base.keys.audit }, partner, offboardOptions),
    rotatePseudonymKey: async (rotationOptions = {}) => {
      if (!keyRotation)
        throw new Error(
          'rotatePseudonymKey: open the gateway with keyRotation: true (the new key as secrets.pseudonymKey, the old one in secrets.previousPseudonymKeys)',
        );
      const deps = {
        ...base,
        recordedId: core.recordedId,
        keyState: store.keyState,
        onErased: lifecycle.onPartnerErased,
      };
      return rotatePseudonymKey(deps, rotationOptions);
    },
    work: async (workOptions) => {
      refuseDuringRotation('work()');
      return workers.work(workOptions);
    },
    runUntilIdle: async (idleOptions) => {
      refuseDuringRotation('runUntilIdle()');
      return workers.runUntilIdle(idleOptions);
    },
  };
}
