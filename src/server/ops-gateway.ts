import type { Gateway } from '../index.ts';

/** The part of the public Gateway the ops server uses: nothing else, so it survives the core's restructuring. */
export type OpsGateway = Pick<
  Gateway,
  | 'policy'
  | 'status'
  | 'health'
  | 'deadLetters'
  | 'redrive'
  | 'pendingErasures'
  | 'erasureStatus'
  | 'erase'
  | 'resolveErasure'
  | 'restrict'
  | 'unrestrict'
  | 'consent'
  | 'access'
  | 'resync'
  | 'drift'
  | 'audit'
>;
