/**
 * The background sealer does not queue behind another: with the chain held by another sealer's
 * transaction, a tick with skipIfBusy seals nothing and returns at once, and the rows are sealed by a
 * later tick. (PostgreSQL only: PGlite has one connection, so there is never a second sealer.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealBatch } from '../../src/log/chain.ts';
import { createKeys } from '../../src/keys.ts';
import { startHarness, testSecrets, type Harness } from '../support/harness.ts';
import { canaryRecord } from '../support/records.ts';

const keyring = createKeys(testSecrets, {}).audit;
const engine = process.env.PARTNER_GATEWAY_TEST_ENGINE;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ records: [canaryRecord(1)] });
});
afterAll(() => h.close());

describe.runIf(engine === 'postgres')('the background sealer', () => {
  it('skips a tick while another sealer holds the chain, and seals on the next', async () => {
    await h.gateway.audit.seal();
    await h.gateway.changed('subj-1');
    await h.gateway.runUntilIdle();
    // Rows to seal that no job follows (a restriction would send jobs whose rows arrive mid-test).
    await h.gateway.requests.receive('subj-1', { kind: 'access', channel: 'letter', reference: 'letter:1' });
    const unsealed = async () =>
      (
        await h.gateway.database.query<{ n: number }>(
          `select count(*)::int as n from transfer_log where chain_pos is null`,
        )
      )[0]!.n;
    expect(await unsealed()).toBeGreaterThan(0);

    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    let skipped: number | undefined;
    await h.gateway.database.transaction(async (tx) => {
      await tx.query(`select 1 from log_chain where id = 1 for update`);
      // Without skipIfBusy this would wait for the lock this transaction holds: it would never return.
      skipped = await sealBatch(h.gateway.database, keyring, { skipIfBusy: true });
      release();
    });
    await held;
    expect(skipped).toBe(0);
    expect(await unsealed()).toBeGreaterThan(0);
    expect(await sealBatch(h.gateway.database, keyring, { skipIfBusy: true })).toBeGreaterThan(0);
    expect(await unsealed()).toBe(0);
    expect((await h.gateway.audit.verify()).ok).toBe(true);
  });
});
