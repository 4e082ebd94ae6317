import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromDocument, loadPolicyFile, type Policy } from '../../src/policy/load.ts';
import { noticeCategories, renderNotice, type NoticeLang } from '../../src/policy/notice.ts';
import { policySchema, type PolicyDocument } from '../../src/policy/schema.ts';
import { renderedExamples } from '../../examples/render-notice.ts';

const policy = loadPolicyFile();

// The published notice, committed as a fixture with its origin (test/fixtures/published-notice/README.md).
const seed = readFileSync(new URL('../fixtures/published-notice/privacy-notice.sv.txt', import.meta.url), 'utf8');

interface Section {
  heading: string;
  body: string[];
  bullets: string[];
}

/**
 * The layout of privacy-notice.sv.txt (and of the 'text' rendering): blocks separated by blank lines;
 * the first block is the title; a block of two or more lines starts a section with its heading; a
 * one-line block continues the section before it (the closing contact paragraph).
 */
function parseText(text: string): Section[] {
  const [, ...blocks] = text.trim().split(/\n\s*\n/);
  const sections: Section[] = [];
  for (const block of blocks) {
    const lines = block
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const last = sections.at(-1);
    if (lines.length === 1 && last) {
      last.body.push(lines[0]!);
      continue;
    }
    const [heading = '', ...rest] = lines;
    sections.push({
      heading,
      body: rest.filter((l) => !l.startsWith('•')),
      bullets: rest.filter((l) => l.startsWith('•')).map((l) => l.slice(1).trim()),
    });
  }
  return sections;
}

function parseMarkdown(text: string): Section[] {
  const [, ...chunks] = text.split(/^## /m);
  return chunks.map((chunk) => {
    const [heading = '', ...rest] = chunk
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    return {
      heading,
      body: rest.filter((l) => !l.startsWith('- ')),
      bullets: rest.filter((l) => l.startsWith('- ')).map((l) => l.slice(2)),
    };
  });
}

const textOf = (s: Section): string => [s.heading, ...s.body, ...s.bullets].join(' ').replace(/\s+/g, ' ');

/** company, partners..., leaving, other: the structure both the original and the renderings share. */
function split(sections: Section[], leavingHeading: string, otherHeading: string) {
  const leavingAt = sections.findIndex((s) => s.heading === leavingHeading);
  const otherAt = sections.findIndex((s) => s.heading === otherHeading);
  // Runs while tests are collected, where expect() does not belong: a plain error fails the file.
  if (leavingAt < 1 || otherAt !== leavingAt + 1) {
    throw new Error(
      `expected sections "${leavingHeading}" then "${otherHeading}" after the company and partner sections`,
    );
  }
  return {
    company: sections[0]!,
    partners: sections.slice(1, leavingAt),
    leaving: sections[leavingAt]!,
    other: sections[otherAt]!,
  };
}

function modified(edit: (doc: PolicyDocument) => void): Policy {
  const doc = structuredClone(policy.document) as PolicyDocument;
  edit(doc);
  // Validate as the loader would, so a test cannot pass on a policy the gateway would refuse.
  return fromDocument(policySchema.parse(doc));
}

const sectionsOf = (p: Policy, lang: NoticeLang): Section[] => parseMarkdown(renderNotice(p, { lang, format: 'md' }));
const sectionNamed = (sections: Section[], heading: string): Section | undefined =>
  sections.find((s) => s.heading === heading);

describe('the Swedish rendering of the default policy against the published notice', () => {
  const original = split(parseText(seed), 'Om du slutar vara kund', 'Övrigt');

  // Each rule: the sentence the original states, found in the named section of both texts.
  const rules: { rule: string; section: 'leaving' | 'other'; patterns: RegExp[] }[] = [
    {
      rule: 'erasure and camera anonymisation at the first month boundary',
      section: 'leaving',
      patterns: [
        /raderar alla dina personuppgifter/,
        /anonymiserar data från kamerorna/,
        /närm(a)?st[ae] månadsskifte efter avslutat abonnemang/,
      ],
    },
    {
      rule: 'consent withdrawal by written notice',
      section: 'other',
      patterns: [
        /återkalla\b.*samtycke.*marknadsföring.*när som helst|när som helst.*återkalla\b.*samtycke.*marknadsföring/,
        /samtycke.*genom skriftligt meddelande/,
      ],
    },
    {
      rule: 'kept one year after the relationship',
      section: 'other',
      patterns: [/så länge det finns en pågående kundrelation och ett år därefter/],
    },
    {
      rule: 'information after a written, signed request',
      section: 'other',
      patterns: [/skriftlig och egenhändigt undertecknad begäran/, /information om vilka personuppgifter/],
    },
    { rule: 'rectification, blocking, erasure', section: 'other', patterns: [/rättas, blockeras eller raderas/] },
    { rule: 'complaint to the supervisory authority', section: 'other', patterns: [/klagomål/, /tillsynsmyndighet/] },
  ];

  for (const format of ['text', 'md'] as const) {
    describe(`format ${format}`, () => {
      const text = renderNotice(policy, { lang: 'sv', format });
      const rendered = split(
        format === 'text' ? parseText(text) : parseMarkdown(text),
        'Om du slutar vara kund',
        'Övrigt',
      );

      it('opens with the company section, its hosting, the camera rule and every category it holds', () => {
        const company = /^Hos (\S+) \((.+)\)/.exec(original.company.heading);
        expect(company, 'the original opens with "Hos <company> (<hosting>)"').not.toBeNull();
        expect(rendered.company.heading).toContain(`Hos ${company![1]} (${company![2]})`);
        expect(textOf(rendered.company)).toMatch(/huvudkopian på all din information/);
        const camera = /Data från kameror \((.+?)\) lämnar inte våra servrar/.exec(textOf(original.company));
        expect(camera).not.toBeNull();
        const renderedCamera = /Data från kameror \((.+?)\) lämnar inte våra servrar \(utom när du ber om det\)/.exec(
          textOf(rendered.company),
        );
        expect(renderedCamera, 'the camera rule').not.toBeNull();
        for (const kind of camera![1]!.split(/,\s*/)) expect(renderedCamera![1]).toContain(kind);
        expect(rendered.company.bullets).toEqual(original.company.bullets);
      });

      it('has a section per partner, in the same order, listing the same categories', () => {
        expect(rendered.partners.map((s) => s.heading)).toEqual(original.partners.map((s) => s.heading));
        for (const [i, section] of original.partners.entries()) {
          expect(rendered.partners[i]!.bullets, section.heading).toEqual(section.bullets);
          expect(rendered.partners[i]!.body.join(' '), section.heading).toContain(section.body.join(' '));
        }
      });

      for (const { rule, section, patterns } of rules) {
        it(`states ${rule} in "${rendered[section].heading}"`, () => {
          for (const pattern of patterns) {
            expect(textOf(original[section]), `the original (${pattern})`).toMatch(pattern);
            expect(textOf(rendered[section])).toMatch(pattern);
          }
        });
      }

      it('names the authority, the contact address and the controller where the original does', () => {
        const other = textOf(original.other);
        const authority = /tillsynsmyndighet.*?är (\p{L}+)/u.exec(other)?.[1];
        const contact = /[\w.+-]+@[\w-]+(\.[\w-]+)+/.exec(other)?.[0];
        const controller = /Personuppgiftsansvarig är (.+?)\.?$/.exec(other)?.[1];
        expect([authority, contact, controller]).toEqual([expect.any(String), expect.any(String), expect.any(String)]);
        expect(textOf(rendered.other)).toContain(authority);
        expect(textOf(rendered.other)).toContain(`Kontakta oss på ${contact}`);
        expect(textOf(rendered.other)).toContain(`Personuppgiftsansvarig är ${controller}`);
      });
    });
  }

  it('lays the text format out like the original: blocks, • bullets, rules as one paragraph', () => {
    const text = renderNotice(policy, { lang: 'sv', format: 'text' });
    expect(text.split('\n')[0]).toBe(seed.split('\n')[0]);
    expect(text).toContain('\nE-logistik\nVår partner');
    expect(text).toMatch(/\nÖvrigt\nDu kan [^\n]+\n\nKontakta oss/);
  });
});

describe('the English rendering', () => {
  const sections = sectionsOf(policy, 'en');
  const doc = policy.document;

  it('has every partner, with every category it holds, and the company section', () => {
    expect(sections[0]!.heading).toBe('At Videquus (on its servers, hosted at Amazon)');
    expect(sections[0]!.bullets).toEqual(doc.held.map((c) => doc.categories[c]!.label.en));
    for (const name of policy.partnerNames) {
      const p = doc.partners[name]!;
      const section = sectionNamed(sections, p.displayName);
      expect(section, p.displayName).toBeDefined();
      expect(section!.body).toContain(p.description.en);
      expect(section!.bullets).toEqual(noticeCategories(doc, name).map((c) => doc.categories[c]!.label.en));
    }
    expect(sectionNamed(sections, 'Stripe')!.bullets).toEqual(['Name', 'Payment card details']);
    expect(sectionNamed(sections, 'Resin')!.bullets).toEqual(['IP addresses']);
  });

  it('states the rules', () => {
    const other = textOf(sectionNamed(sections, 'Other')!);
    expect(other).toContain('withdraw your consent to newsletters and marketing at any time by written notice');
    expect(other).toContain('one year after it');
    expect(other).toContain('corrected, blocked (restricted) or erased');
    expect(other).toContain(doc.controller.supervisoryAuthority.en);
    expect(other).toContain(doc.controller.contact);
    expect(other).toContain(`The controller is ${doc.controller.name}.`);
    expect(textOf(sectionNamed(sections, 'If you stop being a customer')!)).toContain(
      'first month boundary after the subscription ends',
    );
  });
});

describe('the English rendering against the published English rendering', () => {
  const published = parseMarkdown(
    readFileSync(new URL('../fixtures/published-notice/privacy-notice.en.md', import.meta.url), 'utf8'),
  );
  const rendered = sectionsOf(policy, 'en');

  it('has every partner section of the published English text, with the same description and categories', () => {
    const partners = published.filter((s) =>
      policy.partnerNames.some((n) => policy.partner(n).displayName === s.heading),
    );
    expect(partners.map((s) => s.heading)).toEqual(policy.partnerNames.map((n) => policy.partner(n).displayName));
    for (const section of partners) {
      const ours = sectionNamed(rendered, section.heading)!;
      expect(ours.bullets, section.heading).toEqual(section.bullets);
      expect(ours.body[0], section.heading).toBe(section.body.join(' '));
    }
    expect(rendered[0]!.bullets).toEqual(published[0]!.bullets);
  });
});

describe('what the regulator looks for (GDPR Art. 13), stated from the policy', () => {
  for (const lang of ['sv', 'en'] as const) {
    const sections = sectionsOf(policy, lang);
    const partnerSection = (name: string) => sectionNamed(sections, policy.partner(name).displayName)!;
    const t =
      lang === 'sv'
        ? { basis: 'Rättslig grund för', outside: 'utanför EU/EES' }
        : { basis: 'Legal basis for', outside: 'outside the EU/EEA' };

    it(`${lang}: the legal basis of every partner's purpose, and Resin's legitimate interest with the right to object`, () => {
      for (const name of policy.partnerNames) {
        const purpose = policy.document.purposes[policy.partner(name).purpose]!;
        const basis = partnerSection(name).body.find((b) => b.startsWith(t.basis));
        expect(basis, name).toBeDefined();
        expect(basis!.toLowerCase(), name).toContain(purpose.label[lang].toLowerCase());
      }
      expect(partnerSection('mailchimp').body.join(' ')).toMatch(lang === 'sv' ? /ditt samtycke/ : /your consent/);
      expect(partnerSection('elogistik').body.join(' ')).toMatch(lang === 'sv' ? /: avtal/ : /: contract/);
      const resin = partnerSection('resin').body.join(' ');
      expect(resin).toMatch(lang === 'sv' ? /vårt berättigade intresse\./ : /our legitimate interest\./);
      expect(resin).toContain(policy.document.purposes.device_operations!.legitimateInterest![lang]);
      expect(resin).toMatch(lang === 'sv' ? /invända mot den här behandlingen/ : /object to this processing/);
      expect(partnerSection('stripe').body.join(' ')).not.toMatch(/invända|object/);
    });

    it(`${lang}: transfers outside the EU/EEA exactly for the US services, with country and safeguard`, () => {
      const outside = policy.partnerNames.filter((n) => partnerSection(n).body.some((b) => b.includes(t.outside)));
      expect(outside).toEqual(['mailchimp', 'stripe', 'intercom', 'twilio', 'auth0']);
      const transfer = policy.partner('stripe').transfer;
      if (!transfer.outsideEea) throw new Error('stripe is outside the EU/EEA in the default policy');
      const sentence = partnerSection('stripe').body.find((b) => b.includes(t.outside))!;
      expect(sentence).toContain(transfer.country[lang]);
      expect(sentence).toContain(transfer.safeguard[lang]);
    });

    it(`${lang}: what partners keep after erasure, and that a withdrawal does not undo earlier processing`, () => {
      const leaving = textOf(sections.at(-2)!);
      expect(leaving).toMatch(lang === 'sv' ? /Twilio .*minst 120 dagar/ : /Twilio .*at least 120 days/);
      expect(leaving).toMatch(
        lang === 'sv'
          ? /Stripe sparar de betalningsuppgifter som lagen kräver/
          : /Stripe keeps the payment records the law requires/,
      );
      expect(leaving).toMatch(lang === 'sv' ? /Intercom i 7 dagar/ : /Intercom for 7 days/);
      expect(textOf(sections.at(-1)!)).toMatch(
        lang === 'sv'
          ? /påverkar inte lagligheten i den behandling som skedde innan/
          : /does not affect the lawfulness of the processing before/,
      );
      expect(textOf(sections.at(-1)!)).toMatch(lang === 'sv' ? /inom en månad/ : /within one month/);
    });
  }

  it('follows the policy: a partner moved into the EU/EEA, a keep removed, no consent left', () => {
    const p = modified((doc) => {
      doc.partners.stripe!.transfer = { outsideEea: false };
      doc.partners.twilio!.keepsAfterErasure = [];
      delete doc.partners.mailchimp;
    });
    const sections = sectionsOf(p, 'en');
    expect(sectionNamed(sections, 'Stripe')!.body.join(' ')).not.toMatch(/outside the EU\/EEA/);
    expect(textOf(sectionNamed(sections, 'If you stop being a customer')!)).not.toMatch(/120 days/);
    expect(textOf(sectionNamed(sections, 'Other')!)).not.toMatch(/lawfulness/);
  });
});

describe('what the notice lists for a partner', () => {
  it('lists everything sent, and what is collected directly except activity records', () => {
    expect(noticeCategories(policy.document, 'stripe')).toEqual(['name', 'payment_card']);
    expect(noticeCategories(policy.document, 'intercom')).toEqual(['name', 'email', 'phone']);
    expect(noticeCategories(policy.document, 'twilio')).toEqual(['phone']);
    expect(noticeCategories(policy.document, 'resin')).toEqual(['ip_address']);
  });

  it('lists a collected category once it is no longer marked as an activity record', () => {
    const p = modified((doc) => {
      delete doc.categories.call_records!.activity;
    });
    expect(sectionNamed(sectionsOf(p, 'sv'), 'Twilio')!.bullets).toEqual(['Telefonnummer', 'Samtalsuppgifter']);
  });

  it('never hides a category the gateway sends, even one marked as activity', () => {
    const p = modified((doc) => {
      doc.categories.phone!.activity = true;
    });
    expect(sectionNamed(sectionsOf(p, 'sv'), 'Twilio')!.bullets).toEqual(['Telefonnummer']);
  });
});

describe('the notice follows the policy', () => {
  const base = renderNotice(policy, { lang: 'sv', format: 'md' });

  it('says what a restriction does at each partner, from the policy, in both languages', () => {
    const en = renderNotice(loadPolicyFile(), { lang: 'en', format: 'md' });
    expect(en).toContain(
      'at Mailchimp you are unsubscribed from the mailings until the block ends, after which your consent applies as it then stands; at Intercom your data is archived until the block ends; E-logistik, Stripe, Twilio, Auth0 and Resin have no restriction mechanism of their own',
    );
    const p = modified((doc) => {
      doc.partners.intercom!.restriction = 'keep';
    });
    const sv = renderNotice(p, { lang: 'sv', format: 'md' });
    expect(sv).not.toContain('hos Intercom arkiveras');
    expect(sv).toContain(
      'E-logistik, Stripe, Intercom, Twilio, Auth0 och Resin har ingen egen funktion för blockering',
    );
  });

  it('drops a category a partner is no longer sent', () => {
    const p = modified((doc) => {
      doc.partners.intercom!.sends = ['name', 'email'];
    });
    const rendered = renderNotice(p, { lang: 'sv', format: 'md' });
    expect(rendered).not.toBe(base);
    const sections = parseMarkdown(rendered);
    expect(sectionNamed(sections, 'Intercom')!.bullets).toEqual(['Namn', 'E-postadress']);
    expect(sectionNamed(sections, 'E-logistik')!.bullets).toContain('Telefonnummer');
  });

  it('adds a section for a new partner, in policy order', () => {
    const p = modified((doc) => {
      doc.partners.hubspot = {
        displayName: 'HubSpot',
        description: { sv: 'Kundregister för vår försäljning.', en: 'Customer register for sales.' },
        purpose: 'support',
        mode: 'sync',
        sends: ['name', 'email'],
        requires: [],
        collects: [],
        erasure: 'delete',
        restriction: 'keep',
        transfer: { outsideEea: false },
        keepsAfterErasure: [],
        actions: {},
        partnerFields: {},
      };
    });
    for (const lang of ['sv', 'en'] as const) {
      const before = sectionsOf(policy, lang);
      const after = sectionsOf(p, lang);
      expect(after).toHaveLength(before.length + 1);
      const at = after.findIndex((s) => s.heading === 'HubSpot');
      expect(after[at - 1]!.heading).toBe('Resin');
      expect(after[at]!.bullets).toEqual(lang === 'sv' ? ['Namn', 'E-postadress'] : ['Name', 'Email address']);
    }
    expect(renderNotice(p, { lang: 'sv', format: 'text' })).toContain(
      '\nHubSpot\nKundregister för vår försäljning.\nRättslig grund för support: avtal (uppgifterna behövs för att fullgöra vårt avtal med dig).\n• Namn\n• E-postadress\n',
    );
  });

  it('offers consent withdrawal only while some partner rests on consent', () => {
    const p = modified((doc) => {
      delete doc.partners.mailchimp;
    });
    expect(textOf(sectionNamed(sectionsOf(policy, 'sv'), 'Övrigt')!)).toMatch(/återkalla/);
    expect(textOf(sectionNamed(sectionsOf(p, 'sv'), 'Övrigt')!)).not.toMatch(/återkalla|samtycke/);
    expect(textOf(sectionNamed(sectionsOf(p, 'en'), 'Other')!)).not.toMatch(/consent/);
  });

  it('says what a withdrawal does at each consent-based partner, as its onWithdrawal says', () => {
    // The shipped policy: Mailchimp keeps an unsubscribed member, in step with the record.
    expect(textOf(sectionNamed(sectionsOf(policy, 'en'), 'Other')!)).toContain(
      'If you withdraw it, Mailchimp keeps you as an unsubscribed contact: you are sent nothing more, and what Mailchimp holds about you (name and email address) is kept up to date with our records',
    );
    expect(textOf(sectionNamed(sectionsOf(policy, 'sv'), 'Övrigt')!)).toContain(
      'Återkallar du samtycket finns du kvar hos Mailchimp som avregistrerad: du får inga fler utskick, och det Mailchimp har om dig (namn och e-postadress) hålls uppdaterat med våra uppgifter',
    );
    const deleting = modified((doc) => {
      doc.partners.mailchimp!.consent = { purpose: 'marketing', onWithdrawal: 'delete' };
    });
    expect(textOf(sectionNamed(sectionsOf(deleting, 'en'), 'Other')!)).toContain(
      'If you withdraw it, everything Mailchimp holds about you is erased.',
    );
    expect(textOf(sectionNamed(sectionsOf(deleting, 'sv'), 'Övrigt')!)).toContain(
      'Återkallar du samtycket raderas allt Mailchimp har om dig.',
    );
    // (The restriction sentence still says Mailchimp unsubscribes a restricted member meanwhile.)
    expect(textOf(sectionNamed(sectionsOf(deleting, 'en'), 'Other')!)).not.toMatch(/unsubscribed contact/);
  });

  it('states the retention period the policy sets', () => {
    const p = modified((doc) => {
      doc.retention.gatewayRecordsAfterRelationshipEnds.years = 2;
    });
    expect(renderNotice(p, { lang: 'sv', format: 'text' })).toContain('pågående kundrelation och två år därefter.');
    expect(renderNotice(p, { lang: 'en', format: 'text' })).toContain('relationship lasts and two years after it.');
  });

  it('says where data is archived instead of erased', () => {
    const p = modified((doc) => {
      doc.partners.intercom!.erasure = 'archive';
    });
    expect(textOf(sectionNamed(sectionsOf(p, 'sv'), 'Om du slutar vara kund')!)).toContain(
      'Hos Intercom arkiveras uppgifterna i stället för att raderas.',
    );
  });

  it('drops the camera rule when the policy has no camera data', () => {
    const p = modified((doc) => {
      for (const [name, c] of Object.entries(doc.categories)) if (c.camera) delete doc.categories[name];
      doc.held = doc.held.filter((c) => doc.categories[c]);
    });
    const text = renderNotice(p, { lang: 'sv', format: 'text' });
    expect(text).not.toMatch(/Data från kameror|anonymiserar/);
    expect(text).toContain('Vi raderar alla dina personuppgifter vid närmaste månadsskifte');
  });
});

describe('escaping', () => {
  const p = modified((doc) => {
    doc.partners.stripe!.description.sv = '<script>alert("x")</script> & "co" \'s';
    doc.controller.contact = 'a&b@example.com';
  });

  it('escapes policy strings in a complete HTML document', () => {
    const html = renderNotice(p, { lang: 'sv', format: 'html' });
    expect(html).toMatch(/^<!DOCTYPE html>\n<html lang="sv">\n<head>\n<meta charset="utf-8">/);
    expect(html.trimEnd()).toMatch(/<\/html>$/);
    expect(html).not.toContain('<script>');
    expect(html).toContain('<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;co&quot; &#39;s</p>');
    expect(html).toContain('a&amp;b@example.com');
    expect(html.match(/<section /g)).toHaveLength(policy.partnerNames.length + 3);
    expect(html).toContain('<li>Betalkortsuppgifter</li>');
    expect(renderNotice(policy, { lang: 'en', format: 'html' })).toContain('<html lang="en">');
  });

  it('keeps raw HTML out of the Markdown', () => {
    const md = renderNotice(p, { lang: 'sv', format: 'md' });
    expect(md).not.toContain('<script>');
    expect(md).toContain('\\<script\\>');
  });
});

describe('the rendered examples', () => {
  for (const { file, lang, format } of renderedExamples) {
    it(`examples/${file} matches the policy`, () => {
      const url = new URL(`../../examples/${file}`, import.meta.url);
      expect(existsSync(url), `examples/${file} is missing: run npx node examples/render-notice.ts`).toBe(true);
      expect(readFileSync(url, 'utf8'), `examples/${file} is stale: run npx node examples/render-notice.ts`).toBe(
        renderNotice(policy, { lang, format }),
      );
    });
  }
});
