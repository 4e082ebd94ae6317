/**
 * Issue 10.2: a second pseudonym key would re-create every subject at the partners under new
 * pseudonyms. The store keeps a keyed fingerprint of the key (never the key) from its first open,
 * and a gateway started with another key refuses to start, before it sends anything.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../../src/gateway.ts';
import { canaryRecord, MemorySource, startTestPartners, type TestPartners } from '../../../src/testing/index.ts';
import { testDatabase } from '../../support/database.ts';
import { capturedLogger } from '../../support/log-capture.ts';
import { policy } from './helpers.ts';

const KEY_A = 'first-pseudonym-key-0123456789ab';
const KEY_B = 'typo-pseudonym-key-0123456789abc';

let partners: TestPartners;
const cleanups: (() => Promise<void>)[] = [];
beforeAll(async () => {
  partners = await startTestPartners({ partners: ['elogistik', 'stripe'] });
});
afterAll(() => partners.stop());
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  partners.reset();
});

describe('the pseudonym key fingerprint', () => {
  it('a gateway with another key refuses to start on the store, naming the setting, never the key', async () => {
    const db = await testDatabase();
    cleanups.push(async () => {
      await db.close();
      await db.drop();
    });
    const source = new MemorySource([canaryRecord(1)]);
    const open = (pseudonymKey: string) =>
      createGateway({
        policy,
        database: db,
        adapters: partners.adapters(),
        source,
        secrets: { pseudonymKey },
        logger: capturedLogger().logger,
      });
    const first = await open(KEY_A);
    await first.changed('subj-1');
    await first.runUntilIdle();
    await first.stop();
    expect(Object.keys(partners.holdings('elogistik'))).toHaveLength(1);

    const refused = await open(KEY_B).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(refused?.name).toBe('KeyMismatchError');
    expect(refused?.message).toMatch(
      /^PARTNER_GATEWAY_PSEUDONYM_KEY \(secrets\.pseudonymKey\) is not the key this store was made with .*re-created at the partners under new pseudonyms/,
    );
    expect(refused?.message).not.toContain(KEY_A);
    expect(refused?.message).not.toContain(KEY_B);
    // The store holds fingerprints, not keys.
    const stored = JSON.stringify(await db.query(`select * from key_fingerprints`));
    expect(stored).not.toContain(KEY_A);
    // Nothing was sent under the other key: E-logistik still holds the one subject.
    expect(Object.keys(partners.holdings('elogistik'))).toHaveLength(1);

    const again = await open(KEY_A);
    await again.changed('subj-1');
    await again.runUntilIdle();
    await again.stop();
    expect(Object.keys(partners.holdings('elogistik'))).toHaveLength(1);
  });
});
