import { createHmac } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { createAuditKeyring, type AuditKeyring } from './log/audit-keys.ts';

/**
 * Keyed hashes. Pseudonyms and payload digests are HMACs, not plain hashes: a payload digest of a
 * phone number could otherwise be reversed by trying every number, and two partners could otherwise
 * join their data on an unkeyed hash of our customer id.
 */
export interface GatewaySecrets {
  /** Keys the per-partner pseudonyms. Changing it changes every pseudonym partners know. */
  readonly pseudonymKey: string;
  /** Keys payload digests in links and the transfer log. Defaults to a key derived from pseudonymKey. */
  readonly digestKey?: string;
  /**
   * Signs the transfer log: each row as it is written, the chain, its head, retention purges and
   * exported checkpoints. Default: PARTNER_GATEWAY_AUDIT_KEY, else a key derived from pseudonymKey
   * (so a log is signed from the first start, with no setting to add). The database never holds it.
   */
  readonly auditKey?: string;
  /**
   * Retired audit keys, used only to verify what they signed before a rotation. Default:
   * PARTNER_GATEWAY_AUDIT_PREVIOUS_KEYS, comma-separated. The key derived from pseudonymKey is always
   * accepted for verification, so moving from the default to an explicit key needs nothing here.
   */
  readonly previousAuditKeys?: readonly string[];
  /**
   * Pseudonym keys this store used before a rotation (README, "Key rotation"). Default:
   * PARTNER_GATEWAY_PREVIOUS_PSEUDONYM_KEYS, comma-separated. Never used for a pseudonym sent to a
   * partner, except by the rotation itself, which moves each partner off the old one. Kept after the
   * rotation because what was derived from them outlives it: the digest key (when derived), the
   * erasure marks of purged subjects, and the log rows signed with a derived audit key.
   */
  readonly previousPseudonymKeys?: readonly string[];
}

/** A pseudonym key retired by a rotation: its fingerprint, and the pseudonyms it made. */
export interface RetiredPseudonymKey {
  readonly fingerprint: string;
  pseudonym(partner: string, subjectId: string): string;
}

export interface Keys {
  pseudonym(partner: string, subjectId: string): string;
  payloadDigest(value: unknown): string;
  /**
   * The mark an erased subject leaves when the retention purge removes its tombstone: a keyed hash
   * of the subject id, so the gateway still refuses to send for it without keeping the id.
   */
  erasureMark(subjectId: string): string;
  /**
   * The marks the subject would have left under this key and every retired one: a subject purged
   * before a rotation is still known erased (src/store/erased.ts).
   */
  erasureMarks(subjectId: string): readonly string[];
  /** The retired pseudonym keys (secrets.previousPseudonymKeys), newest first. */
  readonly retired: readonly RetiredPseudonymKey[];
  /** Signs and verifies the transfer log (src/log). */
  readonly audit: AuditKeyring;
  /**
   * Keyed fingerprints of the pseudonym and digest keys (an HMAC of a constant under each key): the
   * store keeps them to refuse another key, and they tell nothing about the key itself. None when
   * opened to read without the keys (readOnlyKeys).
   */
  readonly fingerprints: { readonly pseudonym?: string; readonly digest?: string };
}

const FINGERPRINT_INPUT = 'partner-gateway key fingerprint v1';

function fingerprint(key: string): string {
  return createHmac('sha256', key).update(FINGERPRINT_INPUT).digest('hex').slice(0, 32);
}

const MIN_KEY_LENGTH = 16;

const derive = (key: string, use: string): string => createHmac('sha256', key).update(use).digest('hex');
const pseudonymUnder = (key: string) => (partner: string, subjectId: string) =>
  createHmac('sha256', key).update(`${partner}\u0000${subjectId}`).digest('hex').slice(0, 32);

/**
 * `storedDigestFingerprint`: the digest fingerprint the store keeps. With retired pseudonym keys and
 * no digest key of its own, the digest key is the one derived from whichever of the keys the store's
 * digests were made with (the first key, before any rotation), so a rotation never makes every
 * subject look changed. Without it (or without retired keys), the current key's.
 */
export function createKeys(
  secrets: GatewaySecrets,
  env: NodeJS.ProcessEnv = process.env,
  storedDigestFingerprint?: string,
): Keys {
  checkPseudonymKey(secrets);
  const previous = previousPseudonymKeys(secrets, env);
  const candidates = [secrets.pseudonymKey, ...previous].map((k) => derive(k, 'payload-digest'));
  const digestKey =
    secrets.digestKey ?? candidates.find((k) => fingerprint(k) === storedDigestFingerprint) ?? candidates[0]!;
  const markKeys = [secrets.pseudonymKey, ...previous].map((k) => derive(k, 'erasure-mark'));
  const mark = (key: string, subjectId: string) => createHmac('sha256', key).update(subjectId).digest('hex');
  return {
    pseudonym: pseudonymUnder(secrets.pseudonymKey),
    payloadDigest: (value) => createHmac('sha256', digestKey).update(canonicalJson(value)).digest('hex'),
    erasureMark: (subjectId) => mark(markKeys[0]!, subjectId),
    erasureMarks: (subjectId) => markKeys.map((k) => mark(k, subjectId)),
    retired: previous.map((key) => ({ fingerprint: fingerprint(key), pseudonym: pseudonymUnder(key) })),
    audit: createAuditKeys(secrets, env),
    fingerprints: { pseudonym: fingerprint(secrets.pseudonymKey), digest: fingerprint(digestKey) },
  };
}

function previousPseudonymKeys(secrets: GatewaySecrets, env: NodeJS.ProcessEnv): string[] {
  const keys = [
    ...(secrets.previousPseudonymKeys ??
      (env.PARTNER_GATEWAY_PREVIOUS_PSEUDONYM_KEYS ?? '')
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean)),
  ];
  keys.forEach((key, i) => {
    if (key.length < MIN_KEY_LENGTH)
      throw new Error(`previous pseudonym key ${i + 1} must be at least ${MIN_KEY_LENGTH} characters`);
    if (key === secrets.pseudonymKey)
      throw new Error(`previous pseudonym key ${i + 1} is the pseudonym key itself: list only retired keys`);
  });
  return keys;
}

/**
 * The audit keyring on its own (the CLI's `audit` commands), from the same secrets and environment
 * createKeys() reads, so both always agree on the key.
 */
export function createAuditKeys(secrets: GatewaySecrets, env: NodeJS.ProcessEnv = process.env): AuditKeyring {
  checkPseudonymKey(secrets);
  const derived = derive(secrets.pseudonymKey, 'audit-log');
  // Rows signed with the key derived from a retired pseudonym key still verify after a rotation.
  const retiredDerived = previousPseudonymKeys(secrets, env).map((k) => derive(k, 'audit-log'));
  const source = auditKeySource(secrets, env);
  const explicit = source === 'derived' ? undefined : (secrets.auditKey ?? env.PARTNER_GATEWAY_AUDIT_KEY);
  const previous =
    secrets.previousAuditKeys ??
    (env.PARTNER_GATEWAY_AUDIT_PREVIOUS_KEYS ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean);
  // Messages name the setting (source), never a key or a part of one.
  if (explicit !== undefined) {
    if (explicit.length < MIN_KEY_LENGTH) throw new Error(`${source} must be at least ${MIN_KEY_LENGTH} characters`);
    if (explicit === secrets.pseudonymKey || explicit === secrets.digestKey)
      throw new Error(
        `${source} must differ from the pseudonym and digest keys: whoever verifies the log must not be able to compute pseudonyms`,
      );
  }
  previous.forEach((key, i) => {
    if (key.length < MIN_KEY_LENGTH)
      throw new Error(`previous audit key ${i + 1} must be at least ${MIN_KEY_LENGTH} characters`);
  });
  return createAuditKeyring(explicit ?? derived, [...previous, derived, ...retiredDerived]);
}

/** Thrown where a gateway opened without the pseudonym key would need it; names the settings, never a key. */
export class KeyRequiredError extends Error {
  override readonly name = 'KeyRequiredError';
}

/**
 * The keys of a gateway opened to read only (status, dead letters, the transfer log) by someone who
 * does not hold the pseudonym key: a monitoring account, an auditor. With an audit key set
 * (PARTNER_GATEWAY_AUDIT_KEY or secrets.auditKey), the log verifies and seals; everything else that
 * needs a key throws a KeyRequiredError naming the setting.
 */
export function readOnlyKeys(
  secrets: Omit<GatewaySecrets, 'pseudonymKey'>,
  env: NodeJS.ProcessEnv = process.env,
): Keys {
  const refuse = (what: string) => (): never => {
    throw new KeyRequiredError(`${what} needs PARTNER_GATEWAY_PSEUDONYM_KEY (secrets.pseudonymKey), which is not set`);
  };
  const source = auditKeySource({ pseudonymKey: '', ...secrets }, env);
  const explicit = source === 'derived' ? undefined : (secrets.auditKey ?? env.PARTNER_GATEWAY_AUDIT_KEY)!;
  if (explicit !== undefined && explicit.length < MIN_KEY_LENGTH)
    throw new Error(`${source} must be at least ${MIN_KEY_LENGTH} characters`);
  const previous = (secrets.previousAuditKeys ?? (env.PARTNER_GATEWAY_AUDIT_PREVIOUS_KEYS ?? '').split(','))
    .map((k) => k.trim())
    .filter(Boolean);
  const noAuditKey = (): never => {
    throw new KeyRequiredError(
      'the transfer log is signed with the audit key: set PARTNER_GATEWAY_AUDIT_KEY, or PARTNER_GATEWAY_PSEUDONYM_KEY while the audit key is derived from it (the default)',
    );
  };
  return {
    pseudonym: refuse('a partner pseudonym'),
    payloadDigest: refuse('a payload digest'),
    erasureMark: refuse('an erasure mark'),
    erasureMarks: refuse('an erasure mark'),
    retired: [],
    audit: explicit
      ? createAuditKeyring(explicit, previous)
      : { currentId: '', ids: [], sign: noAuditKey, check: noAuditKey },
    fingerprints: {},
  };
}

/** Where the audit key comes from (never the key): a setting, or derived from the pseudonym key. */
export function auditKeySource(
  secrets: GatewaySecrets,
  env: NodeJS.ProcessEnv = process.env,
): 'secrets.auditKey' | 'PARTNER_GATEWAY_AUDIT_KEY' | 'derived' {
  if (secrets.auditKey !== undefined) return 'secrets.auditKey';
  return env.PARTNER_GATEWAY_AUDIT_KEY ? 'PARTNER_GATEWAY_AUDIT_KEY' : 'derived';
}

function checkPseudonymKey(secrets: GatewaySecrets): void {
  if (!secrets?.pseudonymKey || secrets.pseudonymKey.length < MIN_KEY_LENGTH) {
    throw new Error(
      `secrets.pseudonymKey must be at least ${MIN_KEY_LENGTH} characters (set PARTNER_GATEWAY_PSEUDONYM_KEY)`,
    );
  }
}
