/**
 * Regenerates the example access reports in examples/ from a made-up subject (no real person) and
 * config/policy.yaml:
 *   npx node examples/render-access-report.ts
 * test/lifecycle/access-report.test.ts fails when these files no longer match the renderer
 * or the policy, so a change to either shows up in review as a change to the documents people get.
 */
import { writeFileSync } from 'node:fs';
import { renderAccessReport, type AccessReportFormat, type AccessReportLang } from '../src/lifecycle/index.ts';
import { liveItems } from '../src/lifecycle/access-report-items.ts';
import type { AccessReport, AccessReportPartner, LiveHoldings, SubjectRequest } from '../src/lifecycle/types.ts';
import { loadPolicyFile, type Policy } from '../src/policy/index.ts';

export const renderedExamples: readonly {
  readonly file: string;
  readonly format: AccessReportFormat;
  readonly lang: AccessReportLang;
}[] = [
  { file: 'access-report.json', format: 'json', lang: 'en' },
  { file: 'access-report.sv.md', format: 'md', lang: 'sv' },
  { file: 'access-report.en.md', format: 'md', lang: 'en' },
  { file: 'access-report.sv.html', format: 'html', lang: 'sv' },
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

/**
 * A fictional customer of two years, held at all seven partners: one camera at balena, one alarm call
 * through Twilio, newsletter consent withdrawn in writing, and a signed access request that this
 * report answers.
 */
export function exampleReport(policy: Policy): AccessReport {
  const live = (partner: string, fields: Record<string, unknown>): LiveHoldings => ({
    found: true,
    fields,
    items: liveItems(policy, partner, fields),
  });
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
      collectsFor: [],
      restriction: { behaviour: p.restriction, applied: null },
      ...rest,
    };
  };
  const accessRequest: SubjectRequest = {
    id: '57',
    subjectId: 'cust-20417',
    kind: 'access',
    receivedAt: at('2026-03-02T09:30:00Z'),
    channel: 'letter',
    reference: 'letter:2026-0107',
    verifiedAt: at('2026-03-03T14:10:00Z'),
    verification: 'signed-letter',
    verificationReference: 'letter:2026-0107',
    originalDueAt: at('2026-04-02T21:59:59.999Z'),
    extendedTo: null,
    extensionReason: null,
    dueAt: at('2026-04-02T21:59:59.999Z'),
    answeredAt: null,
    answerChannel: null,
    answerReference: null,
    outcome: null,
    operator: 'ops-lina',
    state: 'open',
  };
  const rectification: SubjectRequest = {
    ...accessRequest,
    id: '31',
    kind: 'rectification',
    receivedAt: at('2026-01-10T08:00:00Z'),
    channel: 'email',
    reference: 'ticket:88120',
    verifiedAt: at('2026-01-10T08:20:00Z'),
    verification: 'account-login',
    verificationReference: null,
    originalDueAt: at('2026-02-10T22:59:59.999Z'),
    dueAt: at('2026-02-10T22:59:59.999Z'),
    answeredAt: at('2026-01-12T15:35:00Z'),
    answerChannel: 'email',
    answerReference: 'ticket:88120',
    outcome: 'fulfilled',
    state: 'answered',
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
    company: {
      record: {
        found: true,
        fields: [
          { path: 'name.given', category: 'name', value: person.name.given },
          { path: 'name.family', category: 'name', value: person.name.family },
          { path: 'address.street', category: 'address', value: 'Exempelvägen 1' },
          { path: 'address.postalCode', category: 'address', value: '12345' },
          { path: 'address.city', category: 'address', value: 'Exempelstad' },
          { path: 'address.country', category: 'address', value: 'SE' },
          { path: 'phone', category: 'phone', value: person.phone },
          { path: 'email', category: 'email', value: person.email },
        ],
      },
      other: {
        camera_sensor_data: ['Temperature and humidity readings from camera CAM-0417, 2024-03-01 to today'],
        camera_timelapse: ['1,204 timelapse images from camera CAM-0417, 2025-06-01 to today'],
        camera_video: ['3 recorded videos from camera CAM-0417 (2026-02-11, 2026-02-20, 2026-03-01)'],
      },
    },
    requests: [accessRequest, rectification],
    answersRequest: accessRequest,
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
        live: live('elogistik', {
          ...person,
          address: { street: 'Exempelvägen 1', postalCode: '12345', city: 'Exempelstad', country: 'SE' },
        }),
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
        // What Mailchimp returns beyond what we sent is shown too, flagged where the policy does not cover it.
        // (Mailchimp's own signup form recorded the IP address and where it placed it.)
        live: live('mailchimp', {
          email: person.email,
          name: person.name,
          status: 'unsubscribed',
          language: 'sv',
          ip_signup: '198.51.100.23',
          'location.country_code': 'SE',
          'location.timezone': 'Europe/Stockholm',
        }),
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
        live: live('intercom', {
          name: person.name,
          email: person.email,
          phone: person.phone,
          // Where Intercom's Messenger placed the contact when it was last used.
          'location.city': 'Uppsala',
          'location.country': 'Sweden',
        }),
      }),
      partner('twilio', {
        holds: true,
        collectsFor: ['CA5f0c2e8d41b6a7c9e3f1d2b4a6c8e0f1'],
        transfers: [
          {
            at: at('2025-11-03T02:41:00Z'),
            operation: 'action:alarm',
            trigger: 'action',
            outcome: 'ok',
            fields: ['phone'],
          },
        ],
        live: live('twilio', {
          phone: person.phone,
          // As the Twilio adapter reports a call: under 'call.<sid>', which the policy maps to call records.
          'call.CA5f0c2e8d41b6a7c9e3f1d2b4a6c8e0f1.status': 'completed',
          'call.CA5f0c2e8d41b6a7c9e3f1d2b4a6c8e0f1.date_created': '2025-11-03T02:41:07.000Z',
        }),
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
        // Auth0 records the IP address of the last sign-in; the app keeps a preference in user_metadata.
        live: live('auth0', {
          name: person.name,
          email: person.email,
          ip_address: '198.51.100.61',
          'user_metadata.language': 'sv',
        }),
      }),
      partner('resin', {
        holds: true,
        collectsFor: ['1041'],
        retainedAfterErasure: [
          'balena keeps its own logs of the device, including IP addresses seen, under its own retention.',
        ],
        live: live('resin', {
          ip_address: { '1041': '192.168.1.23' },
          public_address: { '1041': '203.0.113.45' },
          device_name: { '1041': 'CAM-0417' },
          location: { '1041': 'Uppsala, Uppsala County, Sweden' },
        }),
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
