/**
 * Issue 11 item 16: Mailchimp's member id is the md5 of the lower-cased email, and an unkeyed hash of
 * an email is personal data: it must not be in the transfer log (audit list/export print it for a
 * year after erasure), nor in a link once the member is erased. Real adapter against the emulator.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/gateway.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import { canaryRecord, MemorySource, startTestPartners, type TestPartners } from '../../src/testing/index.ts';
import { testDatabase } from '../support/database.ts';
import { testSecrets } from '../support/harness.ts';
import { capturedLogger } from '../support/log-capture.ts';

const policy = loadPolicyFile();
let partners: TestPartners;
beforeAll(async () => {
  partners = await startTestPartners({ partners: ['mailchimp'] });
});
afterAll(() => partners.stop());

describe("a partner id derived from the subject's email", () => {
  it('is named by a keyed reference in the log, and gone from the link after erasure', async () => {
    const record = canaryRecord(1);
    const md5 = createHash('md5').update(record.email!.toLowerCase()).digest('hex');
    const db = await testDatabase();
    const { logger, text } = capturedLogger();
    const gateway = await createGateway({
      policy,
      database: db,
      adapters: partners.adapters(),
      source: new MemorySource([record]),
      secrets: testSecrets,
      logger,
      limits: { mailchimp: { perSecond: undefined } },
    });
    try {
      await gateway.consent.grant('subj-1', 'marketing', { source: 'web-form', evidence: 'form-1' });
      await gateway.changed('subj-1');
      await gateway.runUntilIdle();
      expect(Object.keys(partners.holdings('mailchimp'))).toEqual([md5]);
      const whileHeld = await gateway.audit.list({ subjectId: 'subj-1', partner: 'mailchimp' });
      expect(whileHeld.some((r) => r.partnerId?.startsWith('ref:'))).toBe(true);

      await gateway.erase('subj-1', { reason: 'erasure request' });
      await gateway.runUntilIdle();
      expect(partners.holdings('mailchimp')).toEqual({});
      const log = await db.query(`select * from transfer_log`);
      const links = await db.query(`select * from links`);
      expect(JSON.stringify(log)).not.toContain(md5);
      expect(JSON.stringify(links)).not.toContain(md5);
      expect(JSON.stringify(await gateway.audit.list({}))).not.toContain(md5);
      expect(text()).not.toContain(md5);
    } finally {
      await gateway.stop();
      await db.close();
      await db.drop();
    }
  });
});
