import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { exampleReport, renderExamples } from '../../examples/render-access-report.ts';
import { PartnerError } from '../../src/adapter.ts';
import { liveItems } from '../../src/lifecycle/access-report-items.ts';
import { renderAccessReport } from '../../src/lifecycle/index.ts';
import type { AccessReport, LiveHoldings } from '../../src/lifecycle/types.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';
import { canaryRecord } from '../support/records.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { webConsent, writtenWithdrawal } from './helpers.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('access(subjectId)', () => {
  it('reports per partner what the policy says, what was sent and when, every transfer, and live holdings', async () => {
    h = await startHarness({ records: [canaryRecord(1)] });
    h.clock.now = new Date('2026-03-01T09:00:00Z');
    await h.gateway.consent.grant('subj-1', 'marketing', webConsent);
    await h.gateway.changed('subj-1');
    await h.gateway.runUntilIdle();
    await h.gateway.consent.withdraw('subj-1', 'marketing', writtenWithdrawal);
    await h.gateway.runUntilIdle();
    h.adapters.get('stripe')!.fetch = async () => {
      throw new PartnerError({
        partner: 'stripe',
        operation: 'fetch',
        kind: 'retryable',
        status: 503,
        code: 'unavailable',
      });
    };
    h.adapters.get('auth0')!.fetch = async () => {
      throw new Error('lookup failed for canary-1-x7q@example.test');
    };

    const report = await h.gateway.access('subj-1', { live: true });
    expect(report.subjectId).toBe('subj-1');
    expect(report.generatedAt).toEqual(new Date('2026-03-01T09:00:00Z'));
    expect(report.policyDigest).toBe(h.gateway.policy.digest);
    expect(report.erasure).toBeNull();
    expect(report.consent.map((c) => [c.status, c.source])).toEqual([
      ['granted', 'web-form'],
      ['withdrawn', 'written-notice'],
    ]);
    expect(report.partners.map((p) => p.partner)).toEqual(h.gateway.policy.partnerNames);

    const elogistik = report.partners.find((p) => p.partner === 'elogistik')!;
    expect(elogistik).toMatchObject({
      displayName: 'E-logistik',
      purpose: 'fulfilment',
      legalBasis: 'contract',
      sentByUs: ['name', 'address', 'phone', 'email'],
      collectedDirectly: [],
      holds: true,
    });
    expect(elogistik.lastSentAt).toBeInstanceOf(Date);
    expect([...elogistik.lastSentFields].sort()).toEqual([...h.gateway.policy.allowedFields('elogistik')].sort());
    expect(elogistik.transfers.map((t) => [t.operation, t.trigger, t.outcome])).toEqual([['upsert', 'change', 'ok']]);
    expect(elogistik.live).toMatchObject({ found: true, fields: h.adapters.get('elogistik')!.calls[0]!.payload });
    // Every field the partner returned, mapped to the policy's category.
    expect((elogistik.live as LiveHoldings).items.map((i) => [i.path, i.category])).toEqual([
      ['address.city', 'address'],
      ['address.country', 'address'],
      ['address.postalCode', 'address'],
      ['address.street', 'address'],
      ['email', 'email'],
      ['name.family', 'name'],
      ['name.given', 'name'],
      ['phone', 'phone'],
    ]);

    const mailchimp = report.partners.find((p) => p.partner === 'mailchimp')!;
    expect(mailchimp.transfers.map((t) => [t.operation, t.trigger, t.outcome])).toEqual([
      ['upsert', 'consent', 'ok'],
      ['suppress', 'consent', 'ok'],
    ]);
    expect(mailchimp.legalBasis).toBe('consent');

    const stripe = report.partners.find((p) => p.partner === 'stripe')!;
    expect(stripe.collectedDirectly).toEqual(['payment_card']);
    expect(stripe.live).toEqual({ error: 'stripe fetch failed (retryable), HTTP 503, code unavailable' });
    // A foreign error's message may quote personal data: only its class is reported.
    expect(report.partners.find((p) => p.partner === 'auth0')!.live).toEqual({
      error: 'auth0 fetch failed (retryable), code unexpected_error, Error',
    });
    const resin = report.partners.find((p) => p.partner === 'resin')!;
    expect(resin).toMatchObject({
      sentByUs: [],
      collectedDirectly: ['ip_address'],
      holds: false,
      collectsFor: [],
      transfers: [],
      live: { found: false, fields: {}, items: [] },
    });

    // Each live fetch is an outbound call: logged with an intent and an outcome, no field names.
    const fetches = await h.gateway.audit.list({ subjectId: 'subj-1' });
    const fetchRows = fetches.filter((r) => r.operation === 'fetch');
    expect(fetchRows.filter((r) => r.kind === 'intent')).toHaveLength(h.adapters.size);
    expect(
      fetchRows
        .filter((r) => r.kind === 'outcome')
        .map((r) => [r.partner, r.outcome, r.trigger])
        .sort(),
    ).toContainEqual(['stripe', 'failed', 'ops']);
    expect(fetchRows.every((r) => r.fields.length === 0)).toBe(true);
    expect(h.logText()).not.toContain('canary-1-x7q@example.test');

    const withoutLive = await h.gateway.access('subj-1');
    expect(withoutLive.partners.every((p) => p.live === undefined)).toBe(true);
  });

  it('shows restriction and erasure status', async () => {
    h = await startHarness({ records: [canaryRecord(2)] });
    await h.gateway.changed('subj-2');
    await h.gateway.runUntilIdle();
    await h.gateway.restrict('subj-2', 'accuracy contested');
    await h.gateway.runUntilIdle();
    await h.gateway.erase('subj-2', { reason: 'data subject request' });
    const during = await h.gateway.access('subj-2');
    expect(during.restriction).toMatchObject({ restricted: true, reason: 'accuracy contested' });
    expect(during.restriction.since).toBeInstanceOf(Date);
    expect(during.erasure).toMatchObject({ tombstoned: true, complete: false });
    await h.gateway.runUntilIdle();
    await h.gateway.processDueErasures();
    const after = await h.gateway.access('subj-2');
    expect(after.erasure).toMatchObject({ tombstoned: true, complete: true });
    expect(
      after.partners.find((p) => p.partner === 'elogistik')!.transfers.map((t) => [t.operation, t.trigger]),
    ).toEqual([
      ['upsert', 'change'],
      // E-logistik has no restriction mechanism: the restriction is noted for it, then it erases.
      ['restrict_no_mechanism', 'restriction'],
      ['erase', 'erasure'],
    ]);
    const md = renderAccessReport(after, h.gateway.policy, { format: 'md', lang: 'en' });
    expect(md).toContain('Erased (confirmed by the partner)');
  });
});

describe('renderAccessReport', () => {
  const policy = loadPolicyFile();
  const hostile = '<script>alert("x")</script> & \'q\' | [link](javascript:alert(1)) *bold*\n# heading';
  const hostileFields = { name: { given: '<img src=x onerror=alert(1)>', family: 'A|B' }, note: hostile };
  const report = (): AccessReport => {
    const base = exampleReport(policy);
    return {
      ...base,
      subjectId: 'cust-<b>1</b>',
      restriction: { restricted: true, since: new Date('2026-03-01T08:00:00Z'), reason: hostile },
      partners: base.partners.map((p) =>
        p.partner === 'elogistik'
          ? {
              ...p,
              live: {
                found: true,
                fields: hostileFields,
                items: liveItems(policy, 'elogistik', hostileFields),
              },
            }
          : p,
      ),
    };
  };

  it('HTML escapes every string, text and attributes alike', () => {
    const html = renderAccessReport(report(), policy, { format: 'html', lang: 'en' });
    expect(html).not.toMatch(/<script|<img|<b>|onerror=alert\(1\)>/);
    expect(html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;q&#39;');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
    expect(html.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
    // Only the renderer's own tags remain.
    const tags = new Set([...html.matchAll(/<\/?([a-z0-9]+)/g)].map((m) => m[1]));
    expect([...tags].sort()).toEqual(
      [
        'body',
        'dd',
        'dl',
        'dt',
        'h1',
        'h2',
        'h3',
        'h4',
        'head',
        'html',
        'li',
        'main',
        'meta',
        'p',
        'style',
        'table',
        'tbody',
        'td',
        'th',
        'thead',
        'title',
        'tr',
        'ul',
      ].sort(),
    );
  });

  it('Markdown escapes markup, keeps every table row on one line, and lets no HTML through', () => {
    const md = renderAccessReport(report(), policy, { format: 'md', lang: 'sv' });
    expect(md).not.toMatch(/<script|<img|<b>/);
    expect(md).toContain('&lt;script&gt;');
    expect(md).toContain('\\[link\\](javascript:alert(1)) \\*bold\\* # heading');
    expect(md).toContain('| Namn | name.family | A\\|B |');
    expect(md).not.toMatch(/^# heading/m);
    for (const line of md.split('\n').filter((l) => l.startsWith('|'))) expect(line.endsWith('|')).toBe(true);
  });

  it('speaks Swedish and English with the policy’s own labels', () => {
    const r = exampleReport(policy);
    const sv = renderAccessReport(r, policy, { format: 'md', lang: 'sv' });
    const en = renderAccessReport(r, policy, { format: 'md', lang: 'en' });
    for (const [lang, text] of [
      ['sv', sv],
      ['en', en],
    ] as const) {
      expect(text).toContain(policy.document.categories.email!.label[lang]);
      expect(text).toContain(policy.document.purposes.marketing!.label[lang]);
      expect(text).toContain(policy.document.partners.elogistik!.description[lang]);
      expect(text).toContain(policy.document.partners.resin!.displayName);
    }
    expect(sv).toContain('Registerutdrag');
    expect(sv).toContain('Återkallat');
    expect(en).toContain('Access report');
    expect(en).toContain('Withdrawn');
    // Times in the policy's zone: 08:14 UTC on 2 May is 10:14 in Stockholm (summer time).
    expect(sv).toContain('2025-05-02 10:14');
  });

  it('JSON is the report as is, times in ISO 8601', () => {
    const r = exampleReport(policy);
    const parsed = JSON.parse(renderAccessReport(r, policy, { format: 'json' }));
    expect(parsed.subjectId).toBe('cust-20417');
    expect(parsed.generatedAt).toBe('2026-03-10T12:00:00.000Z');
    expect(parsed.partners).toHaveLength(r.partners.length);
  });

  it('the committed examples are what the renderer makes of the example subject today', () => {
    for (const { file, content } of renderExamples(policy)) {
      const committed = readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8');
      expect(committed, `examples/${file} is stale: run npx node examples/render-access-report.ts`).toBe(content);
    }
  });
});
