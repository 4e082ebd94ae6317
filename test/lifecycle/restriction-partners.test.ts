/**
 * Restriction reaches every partner (GDPR Art. 18 and 19), with the real adapters against the
 * partners' emulators: Mailchimp unsubscribes the member while restricted and is never told
 * `subscribed` (not on a record change, a new grant or a forced resync), and unrestrict restores
 * exactly the consented state; Intercom archives and unarchives the contact; the partners without a
 * restriction mechanism are not called, and the transfer log says so for each.
 */
import { describe, expect, it, vi } from 'vitest';
import type { EmulatorRequest, PartnerEmulator } from '../../src/emulator.ts';
import type { Gateway } from '../../src/gateway-api.ts';
import { assertNoCanaries, canaryRecord } from '../../src/testing/index.ts';
import { renderAccessReport } from '../../src/lifecycle/index.ts';
import { policy, realGatewaySuite } from '../support/real-gateway.ts';
import { webConsent, writtenWithdrawal } from './helpers.ts';

const suite = realGatewaySuite();

type Holding = { personal: Record<string, unknown>; meta: Record<string, unknown> };
const only = (partner: string): Holding => {
  const held = Object.values(suite.partners.holdings(partner)) as Holding[];
  expect(held, `${partner} holds one record`).toHaveLength(1);
  return held[0]!;
};

/** Every status Mailchimp was asked to write (PUT, PATCH, batch), in order, read from the requests it got. */
function mailchimpStatuses(): string[] {
  const emulator = suite.partners.emulator<PartnerEmulator>('mailchimp');
  const statuses: string[] = [];
  const handle = emulator.handle.bind(emulator);
  vi.spyOn(emulator, 'handle').mockImplementation((req: EmulatorRequest) => {
    if (req.method !== 'GET') {
      const body = JSON.parse(req.body.toString('utf8') || '{}') as Record<string, unknown>;
      const members = Array.isArray(body.members) ? (body.members as Record<string, unknown>[]) : [body];
      for (const m of members) if (typeof m.status === 'string') statuses.push(m.status);
    }
    return handle(req);
  });
  return statuses;
}

async function restrictionRows(gateway: Gateway, partner: string) {
  const rows = await gateway.audit.list({ subjectId: 'subj-1', partner });
  return rows.filter((r) => r.trigger === 'restriction').map((r) => [r.kind, r.operation, r.outcome]);
}

describe('Mailchimp: suppressed while restricted', () => {
  it('gets no status subscribed while restricted (record change, new grant, forced resync), and the consented status back', async () => {
    const statuses = mailchimpStatuses();
    const record = canaryRecord(1);
    const r = await suite.start({ records: [record] });
    await r.gateway.consent.grant('subj-1', 'marketing', webConsent);
    await r.gateway.runUntilIdle();
    expect(only('mailchimp').meta.status).toBe('subscribed');

    await r.gateway.restrict('subj-1', 'accuracy disputed');
    await r.gateway.runUntilIdle();
    expect(only('mailchimp').meta.status).toBe('unsubscribed');
    const sinceRestricted = statuses.length;

    r.source.put(canaryRecord(1, { name: { given: 'RenamedCanary1x7q', family: 'CanaryFamily1x7q' } }));
    await r.gateway.changed('subj-1');
    await r.gateway.consent.grant('subj-1', 'marketing', { source: 'web-form', evidence: 'form-submission:second' });
    await r.gateway.resync({ force: true });
    await r.gateway.runUntilIdle();
    expect(statuses.slice(sinceRestricted)).toEqual([]);
    expect(only('mailchimp').meta.status).toBe('unsubscribed');
    // Nothing new reached Mailchimp either: the old name is what it holds.
    expect(only('mailchimp').personal['name.given']).toBe(record.name!.given);

    await r.gateway.unrestrict('subj-1');
    await r.gateway.runUntilIdle();
    expect(only('mailchimp').meta.status).toBe('subscribed');
    expect(only('mailchimp').personal['name.given']).toBe('RenamedCanary1x7q');
    expect(statuses).toEqual(['subscribed', 'unsubscribed', 'subscribed']);
    expect(await restrictionRows(r.gateway, 'mailchimp')).toEqual([
      ['intent', 'restrict', null],
      ['outcome', 'restrict', 'ok'],
      ['intent', 'upsert', null],
      ['outcome', 'upsert', 'ok'],
    ]);
    // A later resync leaves the restored member alone.
    await r.gateway.resync();
    await r.gateway.runUntilIdle();
    expect(statuses).toHaveLength(3);
    assertNoCanaries(r.logText(), [record], 'the ops log');
  });

  it('stays unsubscribed on unrestrict when consent was withdrawn meanwhile, and is noted as such', async () => {
    const statuses = mailchimpStatuses();
    const r = await suite.start({ records: [canaryRecord(1)] });
    await r.gateway.consent.grant('subj-1', 'marketing', webConsent);
    await r.gateway.runUntilIdle();
    await r.gateway.restrict('subj-1', 'objection pending');
    await r.gateway.consent.withdraw('subj-1', 'marketing', writtenWithdrawal);
    await r.gateway.runUntilIdle();
    await r.gateway.unrestrict('subj-1');
    await r.gateway.resync({ force: true });
    await r.gateway.runUntilIdle();
    expect(only('mailchimp').meta.status).toBe('unsubscribed');
    expect(statuses).toEqual(['subscribed', 'unsubscribed']);
    expect(await restrictionRows(r.gateway, 'mailchimp')).toEqual([
      ['intent', 'restrict', null],
      ['outcome', 'restrict', 'ok'],
      ['event', 'unrestrict_without_consent', null],
    ]);
  });

  it('a member unsubscribed before the restriction stays unsubscribed through it and after', async () => {
    const statuses = mailchimpStatuses();
    const r = await suite.start({ records: [canaryRecord(1)] });
    await r.gateway.consent.grant('subj-1', 'marketing', webConsent);
    await r.gateway.runUntilIdle();
    await r.gateway.consent.withdraw('subj-1', 'marketing', writtenWithdrawal);
    await r.gateway.runUntilIdle();
    await r.gateway.restrict('subj-1', 'objection pending');
    await r.gateway.runUntilIdle();
    await r.gateway.unrestrict('subj-1');
    await r.gateway.resync({ force: true });
    await r.gateway.runUntilIdle();
    expect(only('mailchimp').meta.status).toBe('unsubscribed');
    expect(statuses).toEqual(['subscribed', 'unsubscribed', 'unsubscribed']);
    expect(await restrictionRows(r.gateway, 'mailchimp')).toEqual([
      ['intent', 'restrict', null],
      ['outcome', 'restrict', 'ok'],
      ['event', 'unrestrict_without_consent', null],
    ]);
  });
});

describe('Intercom: archived while restricted', () => {
  it('archives the contact, and unarchives it on unrestrict with what changed meanwhile', async () => {
    const r = await suite.start({ records: [canaryRecord(1)] });
    await r.gateway.changed('subj-1');
    await r.gateway.runUntilIdle();
    expect(only('intercom').meta.archived).toBe(false);

    await r.gateway.restrict('subj-1', 'accuracy disputed');
    await r.gateway.runUntilIdle();
    expect(only('intercom').meta.archived).toBe(true);
    // status: every partner holding the subject has been told.
    expect((await r.gateway.status()).restrictions).toEqual({ restricted: 1, toTell: 0, toLift: 0 });
    const archiveCalls = suite.partners.requests('intercom').filter((q) => q.path.endsWith('/archive'));
    expect(archiveCalls.map((q) => [q.method, q.status])).toEqual([['POST', 200]]);

    r.source.put(canaryRecord(1, { phone: '+46709999901' }));
    await r.gateway.changed('subj-1');
    await r.gateway.runUntilIdle();
    expect(only('intercom').personal.phone).not.toBe('+46709999901');

    await r.gateway.unrestrict('subj-1');
    await r.gateway.runUntilIdle();
    expect(only('intercom').meta.archived).toBe(false);
    expect((await r.gateway.status()).restrictions).toEqual({ restricted: 0, toTell: 0, toLift: 0 });
    expect(only('intercom').personal.phone).toBe('+46709999901');
    expect(await restrictionRows(r.gateway, 'intercom')).toEqual([
      ['intent', 'restrict', null],
      ['outcome', 'restrict', 'ok'],
      ['intent', 'unrestrict', null],
      ['outcome', 'unrestrict', 'ok'],
      ['intent', 'upsert', null],
      ['outcome', 'upsert', 'ok'],
    ]);
  });
});

describe('partners without a restriction mechanism', () => {
  it('are not called, and the log notes for each that it has no restriction mechanism', async () => {
    const device = suite.partners
      .emulator<PartnerEmulator & { seedDevice(d: object): { id: number } }>('resin')
      .seedDevice({ ip_address: '192.168.1.23', public_address: '203.0.113.45', device_name: 'CanaryCam1x7q' });
    const r = await suite.start({ records: [canaryRecord(1, { partnerIds: { resin: [String(device.id)] } })] });
    await r.gateway.changed('subj-1');
    await r.gateway.runUntilIdle();
    await r.gateway.call('subj-1', 'alarm', { twiml: '<Response><Say>Alarm</Say></Response>' });
    const keep = ['elogistik', 'stripe', 'twilio', 'auth0', 'resin'];
    const before = Object.fromEntries(keep.map((p) => [p, suite.partners.requests(p).length]));

    await r.gateway.restrict('subj-1', 'accuracy disputed');
    await r.gateway.runUntilIdle();
    // The access report says, per partner and in both languages, what the restriction does there.
    const report = await r.gateway.access('subj-1');
    expect(report.partners.map((p) => [p.partner, p.restriction.applied])).toEqual([
      ['elogistik', 'keep'],
      ['mailchimp', null],
      ['stripe', 'keep'],
      ['intercom', 'archive'],
      ['twilio', 'keep'],
      ['auth0', 'keep'],
      ['resin', 'keep'],
    ]);
    const en = renderAccessReport(report, policy, { format: 'md', lang: 'en' });
    const sv = renderAccessReport(report, policy, { format: 'html', lang: 'sv' });
    expect(en.match(/The partner has no restriction mechanism: it keeps what it holds/g)).toHaveLength(5);
    expect(en).toContain('The contact is archived at the partner while the restriction lasts');
    expect(en.match(/The partner has been told about your restriction\./g)).toHaveLength(6);
    expect(
      en.match(/Restriction noted: the partner has no restriction mechanism \| Restriction \| Noted/g),
    ).toHaveLength(5);
    expect(sv.match(/Partnern har ingen funktion för begränsning/g)!.length).toBeGreaterThanOrEqual(5);
    expect(sv).toContain('Kontakten arkiveras hos partnern medan begränsningen varar');

    await r.gateway.unrestrict('subj-1');
    await r.gateway.runUntilIdle();
    for (const p of keep) {
      expect(suite.partners.requests(p).length, p).toBe(before[p]);
      expect(await restrictionRows(r.gateway, p), p).toEqual([
        ['event', 'restrict_no_mechanism', null],
        ['event', 'unrestrict_no_mechanism', null],
      ]);
    }
  });
});
