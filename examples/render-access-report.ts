/**
 * Regenerates the example access reports in examples/ from a made-up subject (no real person) and
 * config/policy.yaml:
 *   npx node examples/render-access-report.ts
 * test/lifecycle/access-report-examples.test.ts fails when these files no longer match the renderer
 * or the policy, so a change to either shows up in review as a change to the documents people get.
 */
import { writeFileSync } from 'node:fs';
import { renderAccessReport, type AccessReportFormat, type AccessReportLang } from '../src/lifecycle/index.ts';
import type { AccessReport, AccessReportPartner } from '../src/lifecycle/types.ts';
import { loadPolicyFile, type Policy } from '../src/policy/index.ts';

export const renderedExamples: readonly {
  readonly file: string;
  readonly format: AccessReportFormat;
  readonly lang: AccessReportLang;
}[] = [
  { file: 'access-report.json', format: 'json', lang: 'en' },
  { file: 'access-report.sv.md', format: 'md', lang: 'sv' },
  { file: 'access-report.en.md', format: 'md', lang: 'en' },
  { file: 'access-report.en.html', format: 'html', lang: 'en' },
];

const at = (iso: string) => new Date(iso);
const allFields = [
  'name.given',
  'name.family',
  'address.street',
  'address.postalCode',
  'address.city',
  'address.country',
  'phone',
  'email',
];

/** A fictional customer of two years who withdrew newsletter consent in writing. */
export function exampleReport(policy: Policy): AccessReport {
  const partner = (name: string, rest: Partial<AccessReportPartner>): AccessReportPartner => {
    const p = policy.partner(name);
    return {
      partner: name,
      displayName: p.displayName,
      purpose: p.purpose,
      legalBasis: policy.legalBasis(name),
      sentByUs: [...p.sends],
      collectedDirectly: [...p.collects],
      holds: false,
      lastSentAt: null,
      lastSentFields: [],
      transfers: [],
      retainedAfterErasure: [],
      ...rest,
    };
  };
  const person = {
    name: { given: 'Alex', family: 'Exempelsson' },
    email: 'alex.exempelsson@example.com',
    phone: '+46700000417',
  };
  return {
    subjectId: 'cust-20417',
    generatedAt: at('2026-03-10T12:00:00Z'),
    policyDigest: policy.digest,
    restriction: { restricted: false, since: null, reason: null },
    consent: [
      {
        id: '311',
        subjectId: 'cust-20417',
        purpose: 'marketing',
        status: 'granted',
        source: 'web-form',
        evidence: 'form:web-88213',
        operator: null,
        at: at('2025-05-02T08:14:00Z'),
      },
      {
        id: '902',
        subjectId: 'cust-20417',
        purpose: 'marketing',
        status: 'withdrawn',
        source: 'written-notice',
        evidence: 'letter:2026-0031',
        operator: 'ops-lina',
        at: at('2026-02-14T10:05:00Z'),
      },
    ],
    erasure: null,
    partners: [
      partner('elogistik', {
        holds: true,
        lastSentAt: at('2026-01-12T15:30:00Z'),
        lastSentFields: allFields,
        transfers: [
          { at: at('2025-05-02T08:15:00Z'), operation: 'upsert', trigger: 'change', outcome: 'ok', fields: allFields },
          { at: at('2026-01-12T15:30:00Z'), operation: 'upsert', trigger: 'change', outcome: 'ok', fields: allFields },
        ],
        retainedAfterErasure: [
          'Shipments already booked keep the recipient name and address under the partner’s own retention for transport and bookkeeping records.',
        ],
        live: {
          found: true,
          fields: {
            ...person,
            address: { street: 'Exempelvägen 1', postalCode: '12345', city: 'Exempelstad', country: 'SE' },
          },
        },
      }),
      partner('mailchimp', {
        holds: true,
        lastSentAt: at('2025-05-02T08:15:00Z'),
        lastSentFields: ['name.given', 'name.family', 'email'],
        transfers: [
          {
            at: at('2025-05-02T08:15:00Z'),
            operation: 'upsert',
            trigger: 'consent',
            outcome: 'ok',
            fields: ['name.given', 'name.family', 'email'],
          },
          { at: at('2026-02-14T10:05:00Z'), operation: 'suppress', trigger: 'consent', outcome: 'ok', fields: [] },
        ],
        retainedAfterErasure: [
          'After a permanent deletion Mailchimp keeps a record that the address was deleted, so that it cannot be imported again.',
        ],
        live: { found: true, fields: { email: person.email, name: person.name, status: 'unsubscribed' } },
      }),
      partner('stripe', {
        holds: true,
        lastSentAt: at('2025-05-02T08:15:00Z'),
        lastSentFields: ['name.given', 'name.family'],
        transfers: [
          {
            at: at('2025-05-02T08:15:00Z'),
            operation: 'upsert',
            trigger: 'change',
            outcome: 'ok',
            fields: ['name.given', 'name.family'],
          },
        ],
        retainedAfterErasure: ['Stripe keeps the payment records it must keep by law after the customer is deleted.'],
        live: { error: 'stripe fetch failed (retryable), HTTP 503, code unavailable' },
      }),
      partner('intercom', {
        holds: true,
        lastSentAt: at('2025-05-02T08:16:00Z'),
        lastSentFields: ['name.given', 'name.family', 'email', 'phone'],
        transfers: [
          {
            at: at('2025-05-02T08:15:00Z'),
            operation: 'upsert',
            trigger: 'change',
            outcome: 'failed',
            fields: ['name.given', 'name.family', 'email', 'phone'],
          },
          {
            at: at('2025-05-02T08:16:00Z'),
            operation: 'upsert',
            trigger: 'change',
            outcome: 'ok',
            fields: ['name.given', 'name.family', 'email', 'phone'],
          },
        ],
        retainedAfterErasure: [
          'A deleted contact can be restored by Intercom for 7 days, then it is permanently destroyed.',
        ],
        live: { found: true, fields: { name: person.name, email: person.email, phone: person.phone } },
      }),
      partner('twilio', {
        transfers: [
          { at: at('2025-11-03T02:41:00Z'), operation: 'action', trigger: 'action', outcome: 'ok', fields: ['phone'] },
        ],
        retainedAfterErasure: ['Twilio keeps the called phone number in its call records for at least 120 days.'],
      }),
      partner('auth0', {
        holds: true,
        lastSentAt: at('2025-05-02T08:15:00Z'),
        lastSentFields: ['name.given', 'name.family', 'email'],
        transfers: [
          {
            at: at('2025-05-02T08:15:00Z'),
            operation: 'upsert',
            trigger: 'change',
            outcome: 'ok',
            fields: ['name.given', 'name.family', 'email'],
          },
        ],
        live: { found: true, fields: { name: person.name, email: person.email } },
      }),
      partner('resin', {
        retainedAfterErasure: [
          'balena keeps its own logs of the device, including IP addresses seen, under its own retention.',
        ],
        live: { found: false, fields: {} },
      }),
    ],
  };
}

export function renderExamples(policy: Policy = loadPolicyFile()): { file: string; content: string }[] {
  const report = exampleReport(policy);
  return renderedExamples.map(({ file, format, lang }) => ({
    file,
    content: renderAccessReport(report, policy, { format, lang }),
  }));
}

if (import.meta.main) {
  for (const { file, content } of renderExamples()) {
    writeFileSync(new URL(file, import.meta.url), content);
    console.log(`wrote examples/${file}`);
  }
}
