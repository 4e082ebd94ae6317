import { describe, expect, it } from 'vitest';
import { createAuditKeys, createKeys } from '../../src/keys.ts';
import { auditKeyId, createAuditKeyring } from '../../src/log/audit-keys.ts';

const pseudonymKey = 'audit-keys-test-pseudonym-0123456789';
const auditKey = 'a-separate-audit-key-0123456789abcdef';

describe('the audit keyring', () => {
  it('tags are <key id>:<128-bit hex>, and check only for the purpose and data they were made for', () => {
    const ring = createAuditKeyring(auditKey);
    const tag = ring.sign('row', 'content');
    expect(tag).toMatch(/^[0-9a-f]{16}:[0-9a-f]{32}$/);
    expect(tag.startsWith(`${auditKeyId(auditKey)}:`)).toBe(true);
    expect(ring.check('row', 'content', tag)).toBe('ok');
    expect(ring.check('row', 'content!', tag)).toBe('mismatch');
    // Domain separation: a row's tag never passes for a chain link, a head, a purge or a checkpoint.
    for (const purpose of ['chain', 'head', 'purge', 'checkpoint'] as const)
      expect(ring.check(purpose, 'content', tag)).toBe('mismatch');
    expect(ring.check('row', 'content', null)).toBe('missing');
    expect(ring.check('row', 'content', 'zz')).toBe('malformed');
    expect(ring.check('row', 'content', createAuditKeyring('another key 0123456789').sign('row', 'content'))).toBe(
      'unknown_key',
    );
  });

  it('a retired key still verifies what it signed; new tags use the current one', () => {
    const old = createAuditKeyring('the retired audit key 0123');
    const ring = createAuditKeyring(auditKey, ['the retired audit key 0123']);
    expect(ring.check('head', 'h', old.sign('head', 'h'))).toBe('ok');
    expect(ring.sign('head', 'h').split(':')[0]).toBe(auditKeyId(auditKey));
    expect(ring.ids).toEqual([auditKeyId(auditKey), auditKeyId('the retired audit key 0123')]);
  });
});

describe('GatewaySecrets: the audit key', () => {
  it('defaults to a key derived from the pseudonym key, so every log is signed with no setting added', () => {
    const a = createKeys({ pseudonymKey }, {}).audit;
    const b = createAuditKeys({ pseudonymKey }, {});
    expect(a.currentId).toBe(b.currentId);
    expect(a.currentId).not.toBe(auditKeyId(pseudonymKey));
    expect(createAuditKeys({ pseudonymKey: 'another-pseudonym-key-012345' }, {}).currentId).not.toBe(a.currentId);
  });

  it('is taken from secrets.auditKey, else PARTNER_GATEWAY_AUDIT_KEY; the derived key stays valid for verifying', () => {
    const derived = createAuditKeys({ pseudonymKey }, {});
    const fromSecrets = createAuditKeys(
      { pseudonymKey, auditKey },
      { PARTNER_GATEWAY_AUDIT_KEY: 'ignored-env-key-0123456789' },
    );
    const fromEnv = createAuditKeys({ pseudonymKey }, { PARTNER_GATEWAY_AUDIT_KEY: auditKey });
    expect(fromSecrets.currentId).toBe(auditKeyId(auditKey));
    expect(fromEnv.currentId).toBe(auditKeyId(auditKey));
    // A log signed under the default goes on verifying after an explicit key is set.
    expect(fromEnv.check('row', 'x', derived.sign('row', 'x'))).toBe('ok');
  });

  it('reads retired keys from PARTNER_GATEWAY_AUDIT_PREVIOUS_KEYS (comma-separated)', () => {
    const retired = createAuditKeyring('retired-key-one-0123456789');
    const ring = createAuditKeys(
      { pseudonymKey },
      {
        PARTNER_GATEWAY_AUDIT_KEY: auditKey,
        PARTNER_GATEWAY_AUDIT_PREVIOUS_KEYS: ' retired-key-one-0123456789 ,retired-key-two-0123456789',
      },
    );
    expect(ring.check('chain', 'x', retired.sign('chain', 'x'))).toBe('ok');
    expect(ring.ids).toHaveLength(4);
  });

  it('refuses a short key, or one equal to the pseudonym or digest key, naming the setting and never the key', () => {
    const attempts: [Parameters<typeof createAuditKeys>[0], NodeJS.ProcessEnv, RegExp][] = [
      [{ pseudonymKey, auditKey: 'short-key' }, {}, /^secrets\.auditKey must be at least 16 characters$/],
      [{ pseudonymKey }, { PARTNER_GATEWAY_AUDIT_KEY: 'short-key' }, /^PARTNER_GATEWAY_AUDIT_KEY must be at least 16/],
      [{ pseudonymKey, auditKey: pseudonymKey }, {}, /must differ from the pseudonym and digest keys/],
      [{ pseudonymKey, digestKey: auditKey, auditKey }, {}, /must differ from the pseudonym and digest keys/],
      [
        { pseudonymKey },
        { PARTNER_GATEWAY_AUDIT_PREVIOUS_KEYS: 'long-enough-key-0123456789,short-key' },
        /^previous audit key 2 must be at least 16/,
      ],
    ];
    for (const [secrets, env, message] of attempts) {
      let error: Error | undefined;
      try {
        createAuditKeys(secrets, env);
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message).toMatch(message);
      for (const secret of [secrets.auditKey, env.PARTNER_GATEWAY_AUDIT_KEY, 'short-key', pseudonymKey].filter(Boolean))
        expect(error!.message).not.toContain(secret);
    }
  });
});
