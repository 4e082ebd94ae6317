/**
 * A partner's SDK, loaded on the adapter's first call and kept: importing 'partner-gateway/adapters'
 * loads no SDK at all, and a host that uses two partners loads two. Generic: the import itself is
 * the adapter's.
 */
import { PartnerError } from '../../src/adapter.ts';

export function lazySdk<T>(partner: string, load: () => Promise<T>): (operation: string) => Promise<T> {
  let loaded: Promise<T> | undefined;
  return async (operation) => {
    try {
      return await (loaded ??= load());
    } catch {
      // Not kept: a later call tries again (a deployment that installs the package meanwhile).
      loaded = undefined;
      throw new PartnerError({ partner, operation, kind: 'permanent', code: 'sdk_unavailable' });
    }
  };
}
