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

/** The store's pseudonym key state: the key it was made with and, during a rotation, its target. */
export interface PseudonymKeyState {
  readonly pseudonym: string;
  readonly next: string | null;
}

const NEXT = 'pseudonym_next';

/**
 * The first open stores the keys' fingerprints; every later open compares. A mismatch (a typo, a
 * second process with another key, a rotation done by hand) stops the gateway before it sends
 * anything. A rotation (src/rotation) is the one way to move a store to another pseudonym key: it
 * opens with `rotation` set, the new key as the key and the old among the retired ones; while it is
 * in progress no other gateway starts on the store, with either key.
 */
export async function checkKeyFingerprints(
  sql: Sql,
  keys: {
    readonly fingerprints: Readonly<Record<string, string | undefined>>;
    readonly retired?: readonly { readonly fingerprint: string }[];
  },
  options: { readonly rotation?: boolean } = {},
): Promise<PseudonymKeyState> {
  // A gateway opened to read without the keys has none to store or compare.
  const given = Object.fromEntries(
    Object.entries(keys.fingerprints).filter((e): e is [string, string] => e[1] !== undefined),
  );
  await sql.query(
    `insert into key_fingerprints (name, fingerprint) select * from unnest($1::text[], $2::text[])
     on conflict (name) do nothing`,
    [Object.keys(given), Object.values(given)],
  );
  const stored = new Map(
    (await sql.query<{ name: string; fingerprint: string }>(`select name, fingerprint from key_fingerprints`)).map(
      (r) => [r.name, r.fingerprint],
    ),
  );
  const state = { pseudonym: stored.get('pseudonym')!, next: stored.get(NEXT) ?? null };
  const retired = new Set((keys.retired ?? []).map((r) => r.fingerprint));
  const short = (fingerprint: string) => `${fingerprint.slice(0, 12)}…`;
  const mine = given.pseudonym!;
  if (state.next !== null) {
    if (!options.rotation)
      throw new KeyMismatchError(
        `a rotation of ${SETTINGS.pseudonym} to the key with fingerprint ${short(state.next)} is in progress: ` +
          'no gateway starts on this store until it is done. Finish it with `partner-gateway rotate-pseudonym-key` ' +
          '(the new key as the key, the old one in PARTNER_GATEWAY_PREVIOUS_PSEUDONYM_KEYS); see "Key rotation" in the README',
      );
    if (mine !== state.next)
      throw new KeyMismatchError(
        `a rotation to the key with fingerprint ${short(state.next)} is in progress; the key given (${short(mine)}) is not its target`,
      );
  }
  const rotating = options.rotation === true && mine !== state.pseudonym;
  if (rotating && !retired.has(state.pseudonym))
    throw new KeyMismatchError(
      `a rotation needs the key this store was made with (fingerprint ${short(state.pseudonym)}) in PARTNER_GATEWAY_PREVIOUS_PSEUDONYM_KEYS (secrets.previousPseudonymKeys)`,
    );
  for (const [name, fingerprint] of stored) {
    if (name === NEXT || (name === 'pseudonym' && rotating)) continue;
    const ours = given[name];
    if (ours !== undefined && ours !== fingerprint) {
      const rotated = name === 'pseudonym' && retired.has(fingerprint);
      throw new KeyMismatchError(
        `${SETTINGS[name] ?? name} is not the key this store was made with (fingerprint ${short(fingerprint)} stored, ` +
          `${short(ours)} given): ${CONSEQUENCES[name] ?? 'the data would not match'}. ` +
          (rotated
            ? 'The stored key is among the previous pseudonym keys: to move the store to the new key, run `partner-gateway rotate-pseudonym-key`'
            : name === 'digest' && stored.get('pseudonym') === mine
              ? 'After a rotation the retired key stays in PARTNER_GATEWAY_PREVIOUS_PSEUDONYM_KEYS: the digest key is derived from it'
              : 'Start with the key the store was made with; to change keys, see "Key rotation" in the README'),
      );
    }
  }
  return state;
}

/** The store's pseudonym key state now (a process checks it did not change under it). */
export async function pseudonymKeyState(sql: Sql): Promise<PseudonymKeyState> {
  return keyStateOf(await sql.query<{ name: string; fingerprint: string }>(KEY_STATE_ROWS));
}

/**
 * In the transaction that writes a call's intent: the store's key state is still the one this
 * process works with. A worker started before a rotation (another process on PostgreSQL) would
 * otherwise go on sending under the old pseudonyms while, or after, the rotation moves the partners.
 */
export async function assertKeyStateUnchanged(sql: Sql, expected: PseudonymKeyState): Promise<void> {
  assertSameKeyState(await pseudonymKeyState(sql), expected);
}

/** The key state read in the intent transaction (by a statement of its own, or with others). */
export const KEY_STATE_ROWS = `select name, fingerprint from key_fingerprints where name in ('pseudonym', '${NEXT}')`;

export function keyStateOf(rows: readonly { name: string; fingerprint: string }[]): PseudonymKeyState {
  const by = new Map(rows.map((r) => [r.name, r.fingerprint]));
  return { pseudonym: by.get('pseudonym') ?? '', next: by.get(NEXT) ?? null };
}

export function assertSameKeyState(now: PseudonymKeyState, expected: PseudonymKeyState): void {
  if (now.pseudonym !== expected.pseudonym || now.next !== expected.next)
    throw new KeyMismatchError(
      `the store's ${SETTINGS.pseudonym} changed since this process started (a rotation): nothing is sent; restart it with the new key`,
    );
}

/** Marks the rotation to `next` as begun (idempotent). */
export async function beginRotation(sql: Sql, next: string): Promise<void> {
  await sql.query(`insert into key_fingerprints (name, fingerprint) values ($1, $2) on conflict (name) do nothing`, [
    NEXT,
    next,
  ]);
}

/** The rotation is done: the store is on the new key from now on. In the caller's transaction. */
export async function completeRotation(sql: Sql, next: string): Promise<void> {
  await sql.query(`update key_fingerprints set fingerprint = $1, created_at = now() where name = 'pseudonym'`, [next]);
  await sql.query(`delete from key_fingerprints where name = $1`, [NEXT]);
  await sql.query(`delete from pseudonym_rotation_done`);
}

/** A stored fingerprint (undefined on a new store): the digest key is chosen by it (createKeys). */
export async function storedFingerprint(sql: Sql, name: string): Promise<string | undefined> {
  const rows = await sql.query<{ fingerprint: string }>(`select fingerprint from key_fingerprints where name = $1`, [
    name,
  ]);
  return rows[0]?.fingerprint;
}
