import type { Sql } from './database.ts';

/** Why a gateway refuses to start on a store made with other keys. Names the setting, never a key. */
export class KeyMismatchError extends Error {
  override readonly name = 'KeyMismatchError';
}

const SETTINGS: Readonly<Record<string, string>> = {
  pseudonym: 'PARTNER_GATEWAY_PSEUDONYM_KEY (secrets.pseudonymKey)',
  digest: 'PARTNER_GATEWAY_DIGEST_KEY (secrets.digestKey)',
};

const CONSEQUENCES: Readonly<Record<string, string>> = {
  pseudonym:
    'every subject would be re-created at the partners under new pseudonyms, and a later erasure would reach only the new copies',
  digest: 'every subject would look changed and be sent to every partner again',
};

/**
 * The first open stores the keys' fingerprints; every later open compares. A mismatch (a typo, a
 * second process with another key, a rotation done by hand) stops the gateway before it sends
 * anything. There is no rotation command yet (README, "Key rotation").
 */
export async function checkKeyFingerprints(
  sql: Sql,
  keys: { readonly fingerprints: Readonly<Record<string, string | undefined>> },
): Promise<void> {
  // A gateway opened to read without the keys has none to store or compare.
  const given = Object.fromEntries(
    Object.entries(keys.fingerprints).filter((e): e is [string, string] => e[1] !== undefined),
  );
  await sql.query(
    `insert into key_fingerprints (name, fingerprint) select * from unnest($1::text[], $2::text[])
     on conflict (name) do nothing`,
    [Object.keys(given), Object.values(given)],
  );
  const stored = await sql.query<{ name: string; fingerprint: string }>(
    `select name, fingerprint from key_fingerprints`,
  );
  for (const { name, fingerprint } of stored) {
    const mine = given[name];
    if (mine !== undefined && mine !== fingerprint) {
      throw new KeyMismatchError(
        `${SETTINGS[name] ?? name} is not the key this store was made with (fingerprint ${fingerprint.slice(0, 12)}… stored, ` +
          `${mine.slice(0, 12)}… given): ${CONSEQUENCES[name] ?? 'the data would not match'}. ` +
          'Start with the key the store was made with; to change keys, see "Key rotation" in the README',
      );
    }
  }
}
