/**
 * The dashboard in a real headless Chromium (Debian's /usr/bin/chromium through playwright-core):
 * it signs in with the token from the link, shows every partner with its queue and rate use, shows a
 * dead letter and retries it (the partner then holds the corrected record), verifies the audit log,
 * and renders an access report in sv and en. A read token sees the page without the operator buttons.
 * Skipped, saying why, only where no Chromium is installed (.ci/run installs one).
 *
 * PARTNER_GATEWAY_SCREENSHOTS=examples writes the screenshots to examples/ (committed); otherwise to
 * a temporary directory.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/index.ts';
import { createOpsMetrics, createOpsServer, type OpsServer } from '../../src/server/index.ts';
import { canaryRecords, MemorySource, startTestPartners, type TestPartners } from '../../src/testing/index.ts';

const CHROMIUM = process.env.PARTNER_GATEWAY_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const shotsDir =
  process.env.PARTNER_GATEWAY_SCREENSHOTS === 'examples'
    ? fileURLToPath(new URL('../../examples/', import.meta.url))
    : undefined;

const operatorToken = 'dashboard-operator-token-0123456789';
const readToken = 'dashboard-read-token-0123456789abcd';
const records = canaryRecords(12);
const source = new MemorySource(records);

let partners: TestPartners;
let gateway: Gateway;
let server: OpsServer;
let url: string;
let profile: string;
let context: BrowserContext;
let page: Page;
let tmpShots: string;
const offSite: string[] = [];

const shot = (name: string) =>
  page.screenshot({ path: join(shotsDir ?? tmpShots, name), fullPage: true, animations: 'disabled' });

const title = haveChromium
  ? 'dashboard in headless Chromium'
  : `dashboard in headless Chromium (skipped: no Chromium at ${CHROMIUM}; apt-get install -y chromium)`;

describe.skipIf(!haveChromium)(title, { timeout: 90_000 }, () => {
  beforeAll(async () => {
    partners = await startTestPartners();
    const metrics = createOpsMetrics();
    gateway = await createGateway({
      database: { memory: true },
      adapters: partners.adapters(),
      source,
      secrets: { pseudonymKey: 'dashboard-test-key-0123456789' },
      retry: { retryLimit: 0, retryDelaySeconds: 1, retryDelayMaxSeconds: 1 },
      observer: metrics.observer,
      limits: { stripe: { perSecond: 25 }, elogistik: { perSecond: 10 } },
      logger: pino({ level: 'silent' }),
    });
    for (const r of records.slice(0, 6))
      await gateway.consent.grant(r.id, 'marketing', { source: 'web-form', evidence: `form-${r.id}` });
    await gateway.resync();
    await gateway.runUntilIdle();
    // A dead letter: Stripe refuses the corrected name of subj-2 (no retries left).
    partners.setFaults({ stripe: { errorRate: 1, retryAfterSeconds: 1 } });
    source.put({ ...records[1]!, name: { given: 'Corrected', family: 'Dashboardsson' } });
    await gateway.changed('subj-2');
    await gateway.runUntilIdle();
    expect(await gateway.deadLetters('stripe')).toHaveLength(1);
    partners.setFaults({});
    await gateway.work({ pollingIntervalSeconds: 0.5 });
    server = await createOpsServer({
      gateway,
      metrics,
      tokens: [
        { name: 'ops-alice', role: 'operator', token: operatorToken },
        { name: 'grafana', role: 'read', token: readToken },
      ],
      partnerLimits: { stripe: { perSecond: 25 }, elogistik: { perSecond: 10 } },
      requireWorkers: true,
      version: 'test',
    });
    url = await server.listen();
    profile = await mkdtemp(join(tmpdir(), 'partner-gateway-chromium-'));
    tmpShots = await mkdtemp(join(tmpdir(), 'partner-gateway-shots-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (request) => {
      if (!request.url().startsWith(url) && !request.url().startsWith('about:')) offSite.push(request.url());
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await gateway?.stop();
    await partners?.stop();
    if (profile) await rm(profile, { recursive: true, force: true });
    if (tmpShots) await rm(tmpShots, { recursive: true, force: true });
  });

  it('signs in from the link and shows every partner with its queue and rate use', async () => {
    await page.goto(`${url}/dashboard#token=${operatorToken}`);
    await page.waitForSelector('#partners tbody tr');
    expect(await page.textContent('#who')).toBe('signed in as ops-alice (operator)');
    expect(new URL(page.url()).hash).toBe(''); // the token left the address bar
    expect(await page.isVisible('#sign-in')).toBe(false);
    const names = await page.$$eval('#partners tbody tr', (rows) => rows.map((r) => r.getAttribute('data-partner')));
    expect(names.sort()).toEqual([...partners.partners].sort());
    const stripe = await page.textContent('#partners tr[data-partner="stripe"]');
    expect(stripe).toMatch(/of 25\/s/);
    expect(await page.textContent('#partners tr[data-partner="stripe"] td:nth-child(6)')).toBe('1');
  });

  it('shows the dead letter and retries it: the partner then holds the corrected record', async () => {
    const row = page.locator('#dead-letters tbody tr');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toMatch(/stripe.*subj-2.*change/);
    await shot('dashboard.png');
    await row.locator('button.retry').click();
    await expect.poll(() => page.textContent('#message')).toMatch(/Requeued 1 dead letter\(s\) at stripe; 0 left/);
    await expect
      .poll(() => JSON.stringify(partners.holdings('stripe')), { timeout: 20_000 })
      .toContain('Dashboardsson');
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(0);
    expect(await page.isVisible('#dead-letters .empty')).toBe(true);
  });

  it('verifies the audit log', async () => {
    await page.click('#verify');
    await expect.poll(() => page.textContent('#verify-result')).toMatch(/^verified: \d+ row\(s\) checked/);
  });

  it('renders the access report, in Swedish and in English, in a sandboxed frame', async () => {
    await page.fill('#access-subject', 'subj-3');
    await page.selectOption('#access-lang', 'sv');
    await page.click('#access-form button[type=submit]');
    const frame = page.frameLocator('#access-report');
    await expect.poll(() => frame.locator('h1').textContent()).toMatch(/^Registerutdrag/);
    const swedish = await frame.locator('body').textContent();
    expect(swedish).toMatch(/subj-3/);
    expect(swedish).toMatch(/Mailchimp/);
    await page.selectOption('#access-lang', 'en');
    await page.click('#access-form button[type=submit]');
    await expect.poll(() => frame.locator('h1').textContent()).toMatch(/^Access report/);
    expect(await page.getAttribute('#access-report', 'sandbox')).toBe('');
    await shot('dashboard-access-report.png');
  });

  it('with a read token, shows the page but not the operator actions', async () => {
    await page.click('#sign-out');
    await page.fill('#token', readToken);
    await page.click('#sign-in button');
    await expect.poll(() => page.textContent('#who')).toBe('signed in as grafana (read)');
    expect(await page.isDisabled('#access-form button[type=submit]')).toBe(true);
    await page.click('#sign-out');
    await page.fill('#token', 'not-a-token-of-this-server-at-all');
    await page.click('#sign-in button');
    await expect.poll(() => page.textContent('#message')).toMatch(/Not signed in: the bearer token matches none/);
    expect(await page.isVisible('#main')).toBe(false);
  });

  it('loaded nothing from anywhere but the ops server', () => {
    expect(offSite).toEqual([]);
  });
});
