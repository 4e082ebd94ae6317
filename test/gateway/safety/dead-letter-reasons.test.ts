/**
 * Issue 10.7: every dead letter says why, in words without a personal value: which field of the
 * master record is invalid, which source call threw.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canariesOf, canaryRecord, startTestPartners, type TestPartners } from '../../../src/testing/index.ts';
import { startGateway, type Running } from './helpers.ts';

let partners: TestPartners;
let running: Running | undefined;
beforeAll(async () => {
  partners = await startTestPartners({ partners: ['stripe', 'elogistik', 'intercom', 'auth0', 'mailchimp'] });
});
afterAll(() => partners.stop());
afterEach(async () => {
  await running?.close();
  running = undefined;
  partners.reset();
});

describe('dead letters say why', () => {
  it('an invalid record: the dead letter names the field and the rule, never the value', async () => {
    const bad = canaryRecord(1, { phone: '0701234567-canary-x7q' });
    running = await startGateway(partners, [bad]);
    const { gateway } = running;
    await gateway.changed('subj-1');
    await gateway.runUntilIdle({ waitForRetries: true, timeoutMs: 20_000 });
    const dead = await gateway.deadLetters();
    expect(dead.length).toBeGreaterThan(0);
    for (const d of dead) {
      expect(d.error, d.partner).toMatch(/phone: must be in E\.164 form/);
      for (const canary of [...canariesOf(bad), '0701234567']) expect(d.error).not.toContain(canary);
    }
  });

  it('a throwing source.get: the dead letter names the source call that threw', async () => {
    running = await startGateway(partners, [canaryRecord(2)]);
    const { gateway, source } = running;
    source.get = async () => {
      throw new Error('connection to host db lost for CanaryGiven2x7q');
    };
    await gateway.changed('subj-2');
    await gateway.runUntilIdle({ waitForRetries: true, timeoutMs: 20_000 });
    const dead = await gateway.deadLetters();
    expect(dead.map((d) => d.partner).sort()).toEqual(['auth0', 'elogistik', 'intercom', 'mailchimp', 'stripe']);
    for (const d of dead) {
      expect(d.error, d.partner).toBe('source.get threw Error');
    }
  });
});
