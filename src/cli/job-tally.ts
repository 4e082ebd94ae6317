/** Jobs this process completed, per partner, as the gateway's observer reports them (for progress). */
import type { GatewayObserver } from '../index.ts';

export interface JobTally {
  readonly observer: GatewayObserver;
  completed(partner: string): number;
}

export function jobTally(): JobTally {
  const completed = new Map<string, number>();
  return {
    observer: {
      jobSettled: (partner, status) => {
        if (status === 'completed') completed.set(partner, (completed.get(partner) ?? 0) + 1);
      },
    },
    completed: (partner) => completed.get(partner) ?? 0,
  };
}
