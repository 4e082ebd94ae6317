/**
 * The access report's fixed wording, per language. Names, categories, purposes and partner
 * descriptions come from the policy's own sv/en labels (access-report-document.ts); only the phrasing
 * of the report itself lives here.
 */

export type AccessReportLang = 'sv' | 'en';

export interface AccessReportText {
  readonly title: string;
  intro(controller: string): string;
  readonly subjectId: string;
  readonly generated: string;
  readonly timeZone: string;
  readonly policyDigest: string;
  readonly restrictionHeading: string;
  restricted(since: string): string;
  readonly notRestricted: string;
  readonly reason: string;
  readonly consentHeading: string;
  readonly noConsent: string;
  readonly consentColumns: readonly [string, string, string, string, string];
  readonly consentStatus: Readonly<Record<'granted' | 'withdrawn', string>>;
  readonly consentSources: Readonly<Record<string, string>>;
  readonly erasureHeading: string;
  readonly noErasure: string;
  readonly erasureDue: string;
  readonly erasureCompleted: string;
  readonly erasureInProgress: string;
  readonly erasureColumns: readonly [string, string];
  readonly erasureStates: Readonly<Record<'confirmed' | 'pending' | 'failed' | 'nothing-held', string>>;
  readonly partnersHeading: string;
  readonly purpose: string;
  readonly legalBasis: string;
  readonly legalBases: Readonly<Record<string, string>>;
  readonly sentByUs: string;
  readonly collectedDirectly: string;
  readonly none: string;
  readonly holdsNow: string;
  readonly yes: string;
  readonly no: string;
  readonly lastSent: string;
  readonly never: string;
  readonly transfersHeading: string;
  readonly noTransfers: string;
  readonly transferColumns: readonly [string, string, string, string, string];
  readonly operations: Readonly<Record<string, string>>;
  readonly triggers: Readonly<Record<string, string>>;
  readonly outcomes: Readonly<Record<'ok' | 'failed' | 'unknown' | 'pending', string>>;
  readonly retainedHeading: string;
  liveHeading(partner: string): string;
  readonly liveNotFound: string;
  liveError(message: string): string;
  readonly liveColumns: readonly [string, string];
}

const sv: AccessReportText = {
  title: 'Registerutdrag: dina uppgifter hos våra partner',
  intro: (controller) =>
    `Här ser du vilka uppgifter ${controller} har lämnat till varje partner, när och varför, vilka uppgifter partnern samlar in direkt, och vad som gäller för samtycke, begränsning och radering.`,
  subjectId: 'Kundnummer',
  generated: 'Skapat',
  timeZone: 'Tider anges i tidszonen',
  policyDigest: 'Policyversion (kontrollsumma)',
  restrictionHeading: 'Begränsning av behandling',
  restricted: (since) =>
    `Behandlingen av dina uppgifter är begränsad sedan ${since}. Inga nya uppgifter skickas till våra partner så länge begränsningen gäller.`,
  notRestricted: 'Behandlingen av dina uppgifter är inte begränsad.',
  reason: 'Skäl',
  consentHeading: 'Samtycken',
  noConsent: 'Inga samtycken har registrerats.',
  consentColumns: ['Tid', 'Ändamål', 'Samtycke', 'Hur', 'Underlag'],
  consentStatus: { granted: 'Lämnat', withdrawn: 'Återkallat' },
  consentSources: {
    'web-form': 'Webbformulär',
    'written-notice': 'Skriftligt meddelande',
    'support-ticket': 'Supportärende',
    app: 'Appen',
  },
  erasureHeading: 'Radering',
  noErasure: 'Ingen radering är aktuell.',
  erasureDue: 'Radering sker',
  erasureCompleted: 'Raderingen slutfördes',
  erasureInProgress: 'Raderingen pågår.',
  erasureColumns: ['Partner', 'Status'],
  erasureStates: {
    confirmed: 'Raderat (bekräftat av partnern)',
    pending: 'Pågår',
    failed: 'Misslyckades, åtgärdas av oss',
    'nothing-held': 'Hade inga uppgifter om dig',
  },
  partnersHeading: 'Våra partner',
  purpose: 'Ändamål',
  legalBasis: 'Rättslig grund',
  legalBases: {
    consent: 'Samtycke',
    contract: 'Avtal',
    legal_obligation: 'Rättslig förpliktelse',
    vital_interests: 'Grundläggande intressen',
    public_task: 'Uppgift av allmänt intresse',
    legitimate_interest: 'Berättigat intresse',
  },
  sentByUs: 'Uppgifter vi skickar',
  collectedDirectly: 'Uppgifter partnern samlar in direkt',
  none: 'Inga',
  holdsNow: 'Har uppgifter om dig enligt oss',
  yes: 'Ja',
  no: 'Nej',
  lastSent: 'Senast skickat',
  never: 'Aldrig',
  transfersHeading: 'Överföringar',
  noTransfers: 'Inga överföringar har gjorts.',
  transferColumns: ['Tid', 'Åtgärd', 'Anledning', 'Utfall', 'Uppgifter'],
  operations: {
    upsert: 'Uppgifter skickade',
    upsert_batch: 'Uppgifter skickade',
    erase: 'Radering',
    suppress: 'Avregistrering',
    fetch: 'Uppgifter hämtade för registerutdrag',
    action: 'Engångsåtgärd',
  },
  triggers: {
    change: 'Dina uppgifter ändrades',
    resync: 'Avstämning',
    erasure: 'Radering',
    consent: 'Samtycke',
    restriction: 'Begränsning',
    ops: 'Manuell åtgärd',
    action: 'Åtgärd',
    retention: 'Gallring',
  },
  outcomes: { ok: 'Genomförd', failed: 'Misslyckades', unknown: 'Okänt utfall', pending: 'Pågår' },
  retainedHeading: 'Detta sparar partnern även efter radering',
  liveHeading: (partner) => `Vad ${partner} har om dig just nu`,
  liveNotFound: 'Partnern har inga uppgifter om dig.',
  liveError: (message) => `Partnern kunde inte tillfrågas: ${message}`,
  liveColumns: ['Uppgift', 'Värde'],
};

const en: AccessReportText = {
  title: 'Access report: your data at our partners',
  intro: (controller) =>
    `This report shows what ${controller} has shared with each partner, when and why, what each partner collects directly, and where your consent, restriction and erasure stand.`,
  subjectId: 'Customer number',
  generated: 'Generated',
  timeZone: 'Times are given in the time zone',
  policyDigest: 'Policy version (digest)',
  restrictionHeading: 'Restriction of processing',
  restricted: (since) =>
    `Processing of your data has been restricted since ${since}. Nothing new is sent to our partners while the restriction lasts.`,
  notRestricted: 'Processing of your data is not restricted.',
  reason: 'Reason',
  consentHeading: 'Consent',
  noConsent: 'No consent has been recorded.',
  consentColumns: ['Time', 'Purpose', 'Consent', 'How', 'Evidence'],
  consentStatus: { granted: 'Given', withdrawn: 'Withdrawn' },
  consentSources: {
    'web-form': 'Web form',
    'written-notice': 'Written notice',
    'support-ticket': 'Support ticket',
    app: 'The app',
  },
  erasureHeading: 'Erasure',
  noErasure: 'No erasure is due.',
  erasureDue: 'Erasure takes effect',
  erasureCompleted: 'Erasure completed',
  erasureInProgress: 'Erasure is in progress.',
  erasureColumns: ['Partner', 'Status'],
  erasureStates: {
    confirmed: 'Erased (confirmed by the partner)',
    pending: 'In progress',
    failed: 'Failed, being handled by us',
    'nothing-held': 'Held no data about you',
  },
  partnersHeading: 'Our partners',
  purpose: 'Purpose',
  legalBasis: 'Legal basis',
  legalBases: {
    consent: 'Consent',
    contract: 'Contract',
    legal_obligation: 'Legal obligation',
    vital_interests: 'Vital interests',
    public_task: 'Public task',
    legitimate_interest: 'Legitimate interest',
  },
  sentByUs: 'Data we send',
  collectedDirectly: 'Data the partner collects directly',
  none: 'None',
  holdsNow: 'Holds data about you, as far as we know',
  yes: 'Yes',
  no: 'No',
  lastSent: 'Last sent',
  never: 'Never',
  transfersHeading: 'Transfers',
  noTransfers: 'No transfers have been made.',
  transferColumns: ['Time', 'Action', 'Why', 'Outcome', 'Data'],
  operations: {
    upsert: 'Data sent',
    upsert_batch: 'Data sent',
    erase: 'Erasure',
    suppress: 'Unsubscribed',
    fetch: 'Data fetched for an access report',
    action: 'One-off action',
  },
  triggers: {
    change: 'Your data changed',
    resync: 'Reconciliation',
    erasure: 'Erasure',
    consent: 'Consent',
    restriction: 'Restriction',
    ops: 'Operator action',
    action: 'Action',
    retention: 'Retention',
  },
  outcomes: { ok: 'Done', failed: 'Failed', unknown: 'Outcome unknown', pending: 'In progress' },
  retainedHeading: 'What the partner keeps even after erasure',
  liveHeading: (partner) => `What ${partner} holds about you now`,
  liveNotFound: 'The partner holds no data about you.',
  liveError: (message) => `The partner could not be asked: ${message}`,
  liveColumns: ['Item', 'Value'],
};

export const accessReportText: Readonly<Record<AccessReportLang, AccessReportText>> = { sv, en };
