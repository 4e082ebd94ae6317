/**
 * Issue 12, item 2: a field the partner's API cannot clear. Intercom cannot null an email, so a record
 * that loses its email would leave the old address there for good. The policy requires the email at
 * Intercom: losing it erases the contact there, and getting one back creates it again. A policy that
 * sends such a field without requiring it is refused at start.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/index.ts';
import { canaryRecord } from '../../src/testing/index.ts';
import { realGatewaySuite, type RealGateway } from '../support/real-gateway.ts';
import { readFileSync } from 'node:fs';
import { createGateway } from '../../src/gateway.ts';
import { MemorySource } from '../../src/testing/index.ts';
import { testSecrets } from '../support/harness.ts';

const suite = realGatewaySuite();
let running: RealGateway | undefined;

describe('a field Intercom cannot clear', () => {
  it('losing the email erases the contact at Intercom; an email again makes it anew', async () => {
    const record = canaryRecord(1);
    running = await suite.start({ records: [record] });
    const { gateway, source } = running;
    await gateway.changed(record.id);
    await gateway.runUntilIdle();
    expect(JSON.stringify(suite.partners.holdings('intercom'))).toContain(record.email);

    const { email: _email, ...withoutEmail } = record;
    source.put(withoutEmail);
    await gateway.changed(record.id);
    await gateway.runUntilIdle();
    expect(suite.partners.holdings('intercom')).toEqual({});
    // The other partners keep the rest of the record.
    expect(JSON.stringify(suite.partners.holdings('stripe'))).toContain(record.name!.given);

    source.put({ ...record, email: 'canary-1-new-x7q@example.test' });
    await gateway.changed(record.id);
    await gateway.runUntilIdle();
    const held = JSON.stringify(suite.partners.holdings('intercom'));
    expect(held).toContain('canary-1-new-x7q@example.test');
    expect(held).not.toContain(record.email);
  });

  it('refuses to start on a policy that sends Intercom the email without requiring it', async () => {
    const text = readFileSync(new URL('../../config/policy.yaml', import.meta.url), 'utf8');
    const loose = parsePolicy(
      text.replace(/\n {4}requires: \[email\]\n {4}collects: \[app_usage\]/, '\n    collects: [app_usage]'),
    );
    expect(loose.partner('intercom').requires).toEqual([]);
    await expect(
      createGateway({
        policy: loose,
        database: { memory: true },
        adapters: suite.partners.adapters(),
        source: new MemorySource([]),
        secrets: testSecrets,
      }),
    ).rejects.toThrow(/partners\.intercom\.requires must include email: intercom cannot clear email/);
  });
});
