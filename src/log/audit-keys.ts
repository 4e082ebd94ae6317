import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * The keys that make the transfer log tamper-evident to someone who can write to the database but
 * does not hold them (DESIGN §6). HMAC-SHA256 (Node's crypto), not Ed25519: every row is
 * authenticated by its writer at insert time, and an HMAC costs about a microsecond where an Ed25519
 * signature costs tens; whoever verifies rows needs the secret anyway, so a public key would buy
 * nothing here.
 *
 * Each use has a key of its own derived from the secret (domain separation), so a row's tag can never
 * pass for a chain link, a chain head, a purge or a checkpoint. Tags are `<key id>:<32 hex>`
 * (HMAC-SHA256 truncated to 128 bits); the key id names the secret without revealing it, so a log
 * signed over a key rotation still verifies with the retired key kept for verification.
 */
export type AuditPurpose = 'row' | 'chain' | 'head' | 'purge' | 'checkpoint';

const PURPOSES: readonly AuditPurpose[] = ['row', 'chain', 'head', 'purge', 'checkpoint'];

/** What checking a tag found. */
export type TagCheck = 'ok' | 'missing' | 'malformed' | 'unknown_key' | 'mismatch';

export interface AuditKeyring {
  /** The id of the key everything new is signed with. */
  readonly currentId: string;
  /** Every key id this keyring can verify, the current one first. */
  readonly ids: readonly string[];
  sign(purpose: AuditPurpose, data: string): string;
  check(purpose: AuditPurpose, data: string, tag: string | null | undefined): TagCheck;
}

const TAG = /^([0-9a-f]{16}):([0-9a-f]{32})$/;

/** The key id of a secret: a keyed hash of a fixed label, so it identifies the key and reveals nothing. */
export function auditKeyId(secret: string): string {
  return createHmac('sha256', secret).update('partner-gateway audit key id').digest('hex').slice(0, 16);
}

/** True when the text has the shape of a tag (a keyed link); an unkeyed sha256 link is 64 hex. */
export function isTag(value: string | null | undefined): boolean {
  return typeof value === 'string' && TAG.test(value);
}

/** The key id a tag names, or null. */
export function tagKeyId(tag: string | null | undefined): string | null {
  return (typeof tag === 'string' && TAG.exec(tag)?.[1]) || null;
}

export function createAuditKeyring(current: string, retired: readonly string[] = []): AuditKeyring {
  // KeyObjects, not Buffers: createHmac imports a Buffer key on every call, which costs 7x the HMAC.
  const keys = new Map<string, Map<AuditPurpose, KeyObject>>();
  for (const secret of [current, ...retired]) {
    const id = auditKeyId(secret);
    if (keys.has(id)) continue;
    keys.set(
      id,
      new Map(
        PURPOSES.map((p) => [
          p,
          createSecretKey(createHmac('sha256', secret).update(`partner-gateway audit v1 ${p}`).digest()),
        ]),
      ),
    );
  }
  const currentId = auditKeyId(current);
  const mac = (id: string, purpose: AuditPurpose, data: string) =>
    createHmac('sha256', keys.get(id)!.get(purpose)!).update(data).digest().subarray(0, 16);
  return {
    currentId,
    ids: [...keys.keys()],
    sign: (purpose, data) => `${currentId}:${mac(currentId, purpose, data).toString('hex')}`,
    check: (purpose, data, tag) => {
      if (tag === null || tag === undefined || tag === '') return 'missing';
      const match = TAG.exec(tag);
      if (!match) return 'malformed';
      const [, id, hex] = match;
      if (!keys.has(id!)) return 'unknown_key';
      return timingSafeEqual(mac(id!, purpose, data), Buffer.from(hex!, 'hex')) ? 'ok' : 'mismatch';
    },
  };
}
