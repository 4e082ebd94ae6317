/**
 * The access report shows every personal field a partner's API returns for the subject, not only
 * what the gateway sent: what Mailchimp's signup form, Auth0's login, the camera at balena and
 * Intercom's Messenger recorded themselves. Real adapters against the emulators; each field is set
 * at the emulator the way the partner itself would set it, and must come out of the report under its
 * policy category or flagged as not in the policy, in sv and en, md and html and JSON, and never in
 * a log.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Auth0Emulator } from '../../adapters/auth0/emulator.ts';
import { AUTH0_SANDBOX_CLIENT_ID, AUTH0_SANDBOX_CLIENT_SECRET } from '../../adapters/auth0/emulator.ts';
import type { IntercomEmulator } from '../../adapters/intercom/emulator.ts';
import { INTERCOM_SANDBOX_TOKEN } from '../../adapters/intercom/emulator.ts';
import type { MailchimpEmulator } from '../../adapters/mailchimp/emulator.ts';
import type { ResinEmulator } from '../../adapters/resin/emulator.ts';
import type { EmulatorRequest, PartnerEmulator } from '../../src/emulator.ts';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import { inline } from '../../src/lifecycle/access-report-markdown.ts';
import { escapeHtml } from '../../src/lifecycle/access-report-html.ts';
import { renderAccessReport, type AccessReport } from '../../src/lifecycle/index.ts';
import type { LiveHoldings } from '../../src/lifecycle/types.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import type { PartnerLimits } from '../../src/transfer/rate-limit.ts';
import { canaryRecord, MemorySource, startTestPartners, type TestPartners } from '../../src/testing/index.ts';
import { testDatabase } from '../support/database.ts';
import { testSecrets } from '../support/harness.ts';
import { capturedLogger } from '../support/log-capture.ts';
import { tableText, webConsent } from './helpers.ts';

const policy = loadPolicyFile();

let partners: TestPartners;
beforeAll(async () => {
  partners = await startTestPartners();
});
afterAll(() => partners.stop());

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
  partners.reset();
});

/** What each partner recorded itself: [partner, path in the report, value as shown, policy category]. */
type Expected = readonly [partner: string, path: string, value: string, category: string | null];

/** A request to an emulator as the partner's own API gets it (the host's app, the partner's integrations). */
function request(method: string, path: string, headers: Record<string, string>, body: unknown): EmulatorRequest {
  const json = { 'content-type': 'application/json', ...headers };
  return { method, path, query: new URLSearchParams(), headers: json, body: Buffer.from(JSON.stringify(body)) };
}

/** The host's app writes user_metadata through Auth0's Management API, as apps do. */
async function auth0Metadata(auth0: PartnerEmulator, userId: string, metadata: Record<string, unknown>) {
  const token = (
    await auth0.handle(
      request(
        'POST',
        '/oauth/token',
        {},
        {
          grant_type: 'client_credentials',
          client_id: AUTH0_SANDBOX_CLIENT_ID,
          client_secret: AUTH0_SANDBOX_CLIENT_SECRET,
          audience: 'https://sandbox.auth0.test/api/v2/',
        },
      ),
    )
  ).body as { access_token: string };
  const res = await auth0.handle(
    request(
      'PATCH',
      `/api/v2/users/${encodeURIComponent(userId)}`,
      { authorization: `Bearer ${token.access_token}` },
      {
        user_metadata: metadata,
      },
    ),
  );
  expect(res.status).toBe(200);
}

/** A subject synced to every partner, then what each partner records on its own. */
async function heldWithPartnerFields() {
  const device = partners.emulator<ResinEmulator>('resin').seedDevice({
    ip_address: '192.168.1.57',
    public_address: '203.0.113.57',
    mac_address: '02:42:ac:11:00:57',
    latitude: '59.3326',
    longitude: '18.0649',
    custom_latitude: '59.8586',
    custom_longitude: '17.6389',
    location: 'CanaryTown57x7q, Uppsala, Sweden',
  });
  const record = canaryRecord(57, { partnerIds: { resin: [String(device.id)] } });
  const db = await testDatabase();
  const { logger, text: logText } = capturedLogger();
  const gateway: Gateway = await createGateway({
    policy,
    database: db,
    adapters: partners.adapters(),
    source: new MemorySource([record]),
    secrets: testSecrets,
    logger,
    limits: Object.fromEntries(policy.partnerNames.map((p) => [p, { perSecond: undefined } satisfies PartnerLimits])),
  });
  close = async () => {
    await gateway.stop();
    await db.close();
    await db.drop();
  };
  await gateway.consent.grant(record.id, 'marketing', webConsent);
  await gateway.changed(record.id);
  await gateway.runUntilIdle();

  // Mailchimp: the member confirms through Mailchimp's own form, which records and geolocates the IPs.
  const signedUp = partners.emulator<MailchimpEmulator>('mailchimp').signUpThroughForm(record.email!, {
    ip_signup: '198.51.100.57',
    ip_opt: '198.51.100.58',
    language: 'sv',
    location: { latitude: 59.3293, longitude: 18.0686, country_code: 'SE', timezone: 'Europe/Stockholm' },
    tags: ['CanaryTag57x7q'],
  });
  // Auth0: the user signs in (Auth0 records the IP) and the app stores a preference in user_metadata.
  const auth0 = partners.emulator<Auth0Emulator>('auth0');
  const [userId] = Object.keys(auth0.holdings());
  expect(auth0.logIn(userId!, '198.51.100.59')).toBe(true);
  await auth0Metadata(auth0, userId!, { camera_nickname: 'CanaryNick57x7q', birth_year: 1984 });
  // Intercom: the workspace sets a custom attribute; the contact opens the Messenger.
  const intercom = partners.emulator<IntercomEmulator>('intercom');
  const [contactId] = Object.keys(intercom.holdings());
  const put = await intercom.handle(
    request(
      'PUT',
      `/contacts/${contactId}`,
      { authorization: `Bearer ${INTERCOM_SANDBOX_TOKEN}`, 'intercom-version': '2.14' },
      { custom_attributes: { support_note: 'CanaryAttr57x7q' } },
    ),
  );
  expect(put.status).toBe(200);
  expect(
    intercom.seenInMessenger(record.email!, {
      location: { city: 'CanaryVisit57x7q', country: 'Sweden' },
      browser: 'firefox',
    }),
  ).toBe(true);
  expect(signedUp).toBe(true);

  const expected: Expected[] = [
    ['mailchimp', 'ip_signup', '198.51.100.57', null],
    ['mailchimp', 'ip_opt', '198.51.100.58', null],
    ['mailchimp', 'language', 'sv', null],
    ['mailchimp', 'location.latitude', '59.3293', null],
    ['mailchimp', 'location.longitude', '18.0686', null],
    ['mailchimp', 'location.country_code', 'SE', null],
    ['mailchimp', 'location.timezone', 'Europe/Stockholm', null],
    ['mailchimp', 'tags', 'CanaryTag57x7q', null],
    ['auth0', 'ip_address', '198.51.100.59', 'ip_address'],
    ['auth0', 'logins_count', '1', null],
    ['auth0', 'user_metadata.camera_nickname', 'CanaryNick57x7q', null],
    ['auth0', 'user_metadata.birth_year', '1984', null],
    ['resin', `ip_address.${device.id}`, '192.168.1.57', 'ip_address'],
    ['resin', `public_address.${device.id}`, '203.0.113.57', 'ip_address'],
    ['resin', `mac_address.${device.id}`, '02:42:ac:11:00:57', null],
    ['resin', `latitude.${device.id}`, '59.3326', null],
    ['resin', `longitude.${device.id}`, '18.0649', null],
    ['resin', `custom_latitude.${device.id}`, '59.8586', null],
    ['resin', `custom_longitude.${device.id}`, '17.6389', null],
    ['resin', `location.${device.id}`, 'CanaryTown57x7q, Uppsala, Sweden', null],
    ['intercom', 'custom_attributes.support_note', 'CanaryAttr57x7q', null],
    ['intercom', 'location.city', 'CanaryVisit57x7q', null],
    ['intercom', 'location.country', 'Sweden', null],
    ['intercom', 'browser', 'firefox', null],
  ];
  return { gateway, record, logText, expected };
}

const liveOf = (report: AccessReport, partner: string): LiveHoldings => {
  const live = report.partners.find((p) => p.partner === partner)?.live;
  if (!live || 'error' in live) throw new Error(`${partner}: no live holdings (${live ? live.error : 'none'})`);
  return live;
};

describe('the access report shows what partners recorded themselves', () => {
  it('lists each such field with its value, under its policy category or as not in the policy', async () => {
    const { gateway, record, expected } = await heldWithPartnerFields();
    // What each emulator says it holds (its holdings(), as inspection shows them) has each value too;
    // Auth0's login count is its bookkeeping, not a holding.
    for (const [partner, path, value] of expected.filter(([, path]) => path !== 'logins_count'))
      expect(JSON.stringify(partners.emulator(partner).holdings()), `${partner} ${path}`).toContain(value);
    const report = await gateway.access(record.id, { live: true });
    for (const [partner, path, value, category] of expected) {
      expect(liveOf(report, partner).items, `${partner} ${path}`).toContainEqual({
        path,
        value,
        category,
        // Auth0 is not meant to have IP addresses (the policy lets it have name and email only).
        outsidePolicy: partner === 'auth0' && category !== null,
      });
    }
    // JSON: the same items, unmapped ones with category null rather than left out.
    const json = JSON.parse(renderAccessReport(report, policy, { format: 'json' })) as AccessReport;
    for (const [partner, path, value, category] of expected)
      expect(liveOf(json, partner).items).toContainEqual(expect.objectContaining({ path, value, category }));
  });

  for (const lang of ['sv', 'en'] as const) {
    it(`renders each in ${lang} md and html as a row: its category, or flagged as not in our policy`, async () => {
      const { gateway, record, expected } = await heldWithPartnerFields();
      const report = await gateway.access(record.id, { live: true });
      const md = renderAccessReport(report, policy, { format: 'md', lang });
      const html = renderAccessReport(report, policy, { format: 'html', lang });
      const notCovered =
        lang === 'sv' ? 'Finns inte i vår policy (vi utreder det)' : 'Not in our policy (we are looking into it)';
      for (const [partner, path, value, category] of expected) {
        const label = category === null ? notCovered : policy.document.categories[category]!.label[lang];
        const cells = (shown: string) =>
          partner === 'auth0' && category !== null
            ? expect.stringContaining(shown) // "IP addresses (our policy says the partner should not have it…)"
            : shown;
        const mdRow = md.split('\n').find((l) => l.includes(` ${inline(path, false)} | ${inline(value, false)} |`));
        expect(mdRow, `${lang} md ${partner} ${path}`).toBeDefined();
        expect(mdRow!.split(' | ')[0]!.slice(2)).toEqual(cells(inline(label, false)));
        const htmlRow = html
          .split('\n')
          .find((l) => l.includes(`<td>${escapeHtml(path)}</td><td>${escapeHtml(value)}</td></tr>`));
        expect(htmlRow, `${lang} html ${partner} ${path}`).toBeDefined();
        expect(/^<tr><td>(.*?)<\/td>/.exec(htmlRow!)![1]).toEqual(cells(escapeHtml(label)));
      }
    });
  }

  it('keeps every such value out of the ops log and the transfer log', async () => {
    const { gateway, record, logText, expected } = await heldWithPartnerFields();
    const report = JSON.stringify(await gateway.access(record.id, { live: true }));
    await gateway.audit.seal();
    const transferLog = await tableText({ gateway } as never, 'transfer_log');
    // Values of a few characters ('sv', '1') would match innocent text: only the distinctive ones.
    const distinctive = expected.map(([, , value]) => value).filter((v) => v.length >= 7);
    expect(distinctive.length).toBeGreaterThan(15);
    for (const value of distinctive) {
      // Read from the partner and handed to the report, and nowhere else.
      expect(report, value).toContain(value);
      expect(logText(), value).not.toContain(value);
      expect(transferLog, value).not.toContain(value);
    }
  });
});
