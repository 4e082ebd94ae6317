import type { GatewayOptions } from '../gateway-api.ts';
import { createKeys, type Keys } from '../keys.ts';
import type { Database } from '../store/database.ts';
import { checkKeyFingerprints, storedFingerprint, type PseudonymKeyState } from '../store/key-fingerprints.ts';
import { openStore } from '../store/open.ts';

export interface KeyedStore {
  readonly database: Database;
  readonly close: () => Promise<void>;
  /** The keys as the store asks: with retired keys listed, the digest key is the one the store was made with. */
  readonly keys: Keys;
  /** Checked again in every intent transaction, so a rotation begun elsewhere stops this process sending; a rotation run here moves it. */
  readonly keyState: { current: PseudonymKeyState };
}

/**
 * Opens (and migrates) the store, then checks the keys against the fingerprints it holds before
 * anything else touches it: data made with other keys must not meet these. The store is closed
 * again when they do not match.
 */
export async function openKeyedStore(
  options: Pick<GatewayOptions, 'database' | 'keyRotation'> & { readonly secrets: Partial<GatewayOptions['secrets']> },
  given: Keys,
): Promise<KeyedStore> {
  const { database, close } = await openStore(options.database);
  try {
    const { pseudonymKey } = options.secrets;
    const keys =
      given.retired.length > 0 && pseudonymKey
        ? createKeys({ ...options.secrets, pseudonymKey }, process.env, await storedFingerprint(database, 'digest'))
        : given;
    const current = await checkKeyFingerprints(database, keys, { rotation: options.keyRotation === true });
    return { database, close, keys, keyState: { current } };
  } catch (error) {
    await close();
    throw error;
  }
}
