/**
 * The access report of a subject held at all seven partners, with the real adapters against the
 * partners' emulators: every category the company holds and every partner, Resin's IP addresses
 * included, in Swedish and English, Markdown and HTML, with the access request that asked for it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PartnerAdapter } from '../../src/adapter.ts';
import type { PartnerEmulator } from '../../src/emulator.ts';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import { renderAccessReport, type AccessReport, type Lifecycle } from '../../src/lifecycle/index.ts';
import { LifecycleInputError } from '../../src/lifecycle/inputs.ts';
import type { LifecycleHooks, LiveHoldings } from '../../src/lifecycle/types.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import type { PartnerLimits } from '../../src/transfer/rate-limit.ts';
import {
  assertNoCanaries,
  canariesOf,
  canaryRecord,
  MemorySource,
  startTestPartners,
  type TestPartners,
} from '../../src/testing/index.ts';
import { testDatabase } from '../support/database.ts';
import { testSecrets } from '../support/harness.ts';
import { capturedLogger } from '../support/log-capture.ts';
import { tableText, webConsent } from './helpers.ts';

const policy = loadPolicyFile();
const camera = {
  camera_sensor_data: ['Sensor readings of camera CanaryCam1x7q since 2025-01-01'],
  camera_timelapse: ['812 timelapse images of camera CanaryCam1x7q'],
  camera_video: ['2 recorded videos of camera CanaryCam1x7q'],
};

let partners: TestPartners;
beforeAll(async () => {
  partners = await startTestPartners();
});
afterAll(() => partners.stop());

interface Running {
  gateway: Gateway;
  /** The lifecycle with the record source, as createGateway will compose it (see below). */
  lifecycle: Lifecycle;
  logText(): string;
  close(): Promise<void>;
}
let running: Running | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
  partners.reset();
});

async function start(source: MemorySource, hooks: LifecycleHooks): Promise<Running> {
  const db = await testDatabase();
  const { logger, text } = capturedLogger();
  const adapters: PartnerAdapter[] = partners.adapters();
  const gateway = await createGateway({
    policy,
    database: db,
    adapters,
    source,
    secrets: testSecrets,
    logger,
    hooks,
    limits: Object.fromEntries(policy.partnerNames.map((p) => [p, { perSecond: undefined } satisfies PartnerLimits])),
  });
  const lifecycle = gateway;
  running = {
    gateway,
    lifecycle,
    logText: text,
    close: async () => {
      await gateway.stop();
      await db.close();
      await db.drop();
    },
  };
  return running;
}

/** A customer at all seven partners: synced, subscribed, called once, with a camera at balena. */
async function heldEverywhere() {
  const device = partners.emulator<PartnerEmulatorWithDevices>('resin').seedDevice({
    ip_address: '192.168.1.23',
    public_address: '203.0.113.45',
    device_name: 'CanaryCam1x7q',
  });
  const record = canaryRecord(1, { partnerIds: { resin: [String(device.id)] } });
  const source = new MemorySource([record]);
  const r = await start(source, { companyHoldings: async (id) => (id === record.id ? camera : {}) });
  await r.gateway.consent.grant(record.id, 'marketing', webConsent);
  await r.gateway.changed(record.id);
  await r.gateway.runUntilIdle();
  const call = await r.gateway.call(record.id, 'alarm', { twiml: '<Response><Say>Alarm</Say></Response>' });
  const received = await r.lifecycle.requests.receive(record.id, {
    kind: 'access',
    channel: 'letter',
    reference: 'letter:2026-0107',
    operator: 'ops-lina',
  });
  await r.lifecycle.requests.verify(received.id, {
    method: 'signed-letter',
    reference: 'letter:2026-0107',
    operator: 'ops-lina',
  });
  return { r, record, device, call, requestId: received.id };
}

type PartnerEmulatorWithDevices = PartnerEmulator & {
  seedDevice(seed: Record<string, unknown>): { id: number };
};

const liveOf = (report: AccessReport, partner: string): LiveHoldings => {
  const live = report.partners.find((p) => p.partner === partner)?.live;
  if (!live || 'error' in live) throw new Error(`${partner}: no live holdings (${live ? live.error : 'none'})`);
  return live;
};

describe('the access report of a subject held at all seven partners', () => {
  it('lists what the company holds and every partner, each holding data, with what each returns now', async () => {
    const { r, record, device, call, requestId } = await heldEverywhere();
    const report = await r.lifecycle.access(record.id, { live: true, requestId });

    // The company: every field of the master record by category, and the camera data the host holds.
    const company = report.company.record;
    if (!('found' in company) || !company.found) throw new Error('the master record is missing from the report');
    expect(company.fields.map((f) => [f.path, f.category])).toEqual([
      ['name.given', 'name'],
      ['name.family', 'name'],
      ['address.street', 'address'],
      ['address.postalCode', 'address'],
      ['address.city', 'address'],
      ['address.country', 'address'],
      ['phone', 'phone'],
      ['email', 'email'],
    ]);
    expect(company.fields.find((f) => f.path === 'email')!.value).toBe(record.email);
    expect(report.company.other).toEqual(camera);
    const heldCategories = new Set([
      ...company.fields.map((f) => f.category),
      ...Object.keys(report.company.other as object),
    ]);
    expect([...heldCategories].sort()).toEqual([...policy.document.held].sort());

    // Every partner holds something of the subject, Resin and Twilio through what they collect.
    expect(report.partners.map((p) => [p.partner, p.holds])).toEqual(policy.partnerNames.map((p) => [p, true]));
    expect(report.partners.find((p) => p.partner === 'resin')!.collectsFor).toEqual([String(device.id)]);
    expect(report.partners.find((p) => p.partner === 'twilio')!.collectsFor).toEqual([call.partnerId]);

    // What each partner returns now, read from the emulators through the real adapters.
    for (const partner of policy.partnerNames) expect(liveOf(report, partner).found, partner).toBe(true);
    const resin = liveOf(report, 'resin').items;
    expect(resin).toContainEqual({
      path: `ip_address.${device.id}`,
      value: '192.168.1.23',
      category: 'ip_address',
      outsidePolicy: false,
    });
    expect(resin).toContainEqual({
      path: `public_address.${device.id}`,
      value: '203.0.113.45',
      category: 'ip_address',
      outsidePolicy: false,
    });
    // balena's device name is personal data the policy does not name: shown, and flagged as such.
    expect(resin).toContainEqual(expect.objectContaining({ path: `device_name.${device.id}`, category: null }));
    const elogistik = liveOf(report, 'elogistik').items;
    expect(elogistik.filter((i) => i.category === null)).toEqual([]);
    expect(elogistik.find((i) => i.category === 'email')!.value).toBe(record.email);
    expect(liveOf(report, 'twilio').items).toContainEqual(
      expect.objectContaining({ category: 'phone', value: record.phone }),
    );
    // Each call Twilio holds is a call record, by the policy's partnerFields.
    expect(liveOf(report, 'twilio').items).toContainEqual(
      expect.objectContaining({ path: `call.${call.partnerId}.status`, category: 'call_records' }),
    );
    for (const partner of policy.partnerNames)
      for (const item of liveOf(report, partner).items)
        expect(item.category === null || !item.outsidePolicy, `${partner} ${item.path}`).toBe(true);

    // The request this report answers, and the register.
    expect(report.answersRequest).toMatchObject({ id: requestId, kind: 'access', verification: 'signed-letter' });
    expect(report.requests.map((q) => q.id)).toEqual([requestId]);
  });

  for (const lang of ['sv', 'en'] as const) {
    for (const format of ['md', 'html'] as const) {
      it(`renders all of it in ${lang} ${format}`, async () => {
        const { r, record, requestId } = await heldEverywhere();
        const report = await r.lifecycle.access(record.id, { live: true, requestId });
        const text = renderAccessReport(report, policy, { format, lang });
        const doc = policy.document;
        const plain = format === 'html' ? text.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(+n)) : text;
        for (const c of doc.held) expect(plain, `category ${c}`).toContain(doc.categories[c]!.label[lang]);
        for (const name of policy.partnerNames) expect(plain).toContain(doc.partners[name]!.displayName);
        for (const item of Object.values(camera).flat()) expect(plain).toContain(item);
        expect(plain).toContain('203.0.113.45');
        expect(plain).toContain('192.168.1.23');
        expect(plain).toContain(doc.partners.twilio!.actions.alarm!.label[lang]);
        expect(plain).not.toContain('action:alarm');
        expect(plain).toContain(doc.controller.supervisoryAuthority[lang]);
        expect(plain).toContain(doc.rights.howToRequest[lang]);
        expect(plain).toContain(
          lang === 'sv'
            ? 'Detta utdrag besvarar din begäran om registerutdrag som vi tog emot'
            : 'This report answers your access request',
        );
        expect(plain).toContain(lang === 'sv' ? 'egenhändigt undertecknat brev' : 'a personally signed letter');
        const outside = lang === 'sv' ? 'Ja, i USA' : 'Yes, in the United States';
        expect(plain.split(outside).length - 1).toBe(5);
        // Resin's live section names the addresses balena holds; no partner says it holds nothing.
        expect(plain).not.toMatch(lang === 'sv' ? /Har uppgifter om dig enligt oss\W+Nej/ : /as far as we know\W+No\b/);
      });
    }
  }

  it('keeps every personal value out of the log, the request register events and the ops log', async () => {
    const { r, record, requestId } = await heldEverywhere();
    await r.lifecycle.access(record.id, { live: true, requestId });
    await r.gateway.audit.seal();
    assertNoCanaries(await tableText({ gateway: r.gateway } as never, 'transfer_log'), [record], 'the transfer log');
    assertNoCanaries(r.logText(), [record], 'the ops log');
    const events = (await r.gateway.audit.list({ subjectId: record.id })).map((e) => e.operation);
    expect(events).toEqual(expect.arrayContaining(['request_received:access', 'request_verified:access']));
    expect(await tableText({ gateway: r.gateway } as never, 'transfer_log')).not.toContain('letter:2026-0107');
    expect(canariesOf(record).length).toBeGreaterThan(0);
  });

  it('answers only an access request of the same subject', async () => {
    const { r, record, requestId } = await heldEverywhere();
    const other = await r.lifecycle.requests.receive('subj-2', { kind: 'access', channel: 'email' });
    await expect(r.lifecycle.access(record.id, { requestId: other.id })).rejects.toThrow(
      new LifecycleInputError(`request ${other.id} is another subject’s: it cannot be answered with this report`),
    );
    const erasure = await r.lifecycle.requests.receive(record.id, { kind: 'erasure', channel: 'letter' });
    await expect(r.lifecycle.access(record.id, { requestId: erasure.id })).rejects.toThrow(/not an access request/);
    expect((await r.lifecycle.access(record.id, { requestId })).answersRequest?.id).toBe(requestId);
  });
});
