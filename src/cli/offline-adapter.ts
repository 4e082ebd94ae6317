/**
 * A partner this process reports on but never calls: read-only commands (status, dead-letters list)
 * need the partner names, not their credentials. Should a call ever reach one, it fails as retryable,
 * so the job waits for a worker that has the real adapter instead of becoming a dead letter.
 */
import { PartnerError, type PartnerAdapter } from '../adapter.ts';

export function offlineAdapter(partner: string): PartnerAdapter {
  const refuse = (operation: string) => async (): Promise<never> => {
    throw new PartnerError({
      partner,
      operation,
      kind: 'retryable',
      code: 'not_configured',
      detail: 'this process has no credentials for the partner (a read-only command)',
    });
  };
  return {
    partner,
    retainedAfterErasure: [],
    upsert: refuse('upsert'),
    erase: refuse('erase'),
    suppress: refuse('suppress'),
    restrict: refuse('restrict'),
    unrestrict: refuse('unrestrict'),
    fetch: refuse('fetch'),
    act: refuse('act'),
  };
}
