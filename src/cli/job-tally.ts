/**
 * Jobs this process settled, per partner, as the gateway's observer reports them (for progress):
 * completed, and dead (out of retries or failed for good). A job that failed and waits for its retry
 * is neither.
 */
import type { GatewayObserver } from '../index.ts';

export interface JobTally {
  readonly observer: GatewayObserver;
  completed(partner: string): number;
  dead(partner: string): number;
}

export function jobTally(): JobTally {
  const completed = new Map<string, number>();
  const dead = new Map<string, number>();
  const add = (counts: Map<string, number>, partner: string) => counts.set(partner, (counts.get(partner) ?? 0) + 1);
  return {
    observer: {
      jobSettled: (partner, status) => {
        if (status === 'completed') add(completed, partner);
        else if (status === 'deadletter') add(dead, partner);
      },
    },
    completed: (partner) => completed.get(partner) ?? 0,
    dead: (partner) => dead.get(partner) ?? 0,
  };
}
