/**
 * The access report's fixed wording, per language. Names, categories, purposes and partner
 * descriptions come from the policy's own sv/en labels (access-report-document.ts); only the phrasing
 * of the report itself lives here.
 */

export type AccessReportLang = 'sv' | 'en';
import type { ErasureGapKind, PartnerErasureState } from './types.ts';

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
  /** The master record vanished from the source: since when, and when erasure follows unless it comes back. */
  recordMissing(since: string, erasureAfter: string): string;
  readonly erasureColumns: readonly [string, string];
  readonly erasureStates: Readonly<Record<PartnerErasureState['state'], string>>;
  readonly erasureMissingHeading: string;
  readonly erasureMissingColumns: readonly [string, string, string];
  readonly erasureGapKinds: Readonly<Record<ErasureGapKind, string>>;
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
  readonly outcomes: Readonly<Record<'ok' | 'failed' | 'unknown' | 'pending' | 'noted', string>>;
  /** The fact row naming what a restriction does at the partner (the policy's behaviour). */
  readonly whileRestricted: string;
  readonly restrictionBehaviours: Readonly<Record<'suppress' | 'archive' | 'keep', string>>;
  /** Added to the behaviour while the subject is restricted: whether the partner has been told. */
  readonly restrictionApplied: string;
  readonly restrictionPending: string;
  readonly retainedHeading: string;
  liveHeading(partner: string): string;
  readonly liveNotFound: string;
  liveError(message: string): string;
  readonly liveColumns: readonly [string, string, string];
  readonly notCovered: string;
  outsidePolicy(category: string): string;
  answersRequest(received: string, verification: string | null): string;
  readonly companyHeading: (company: string) => string;
  companyIntro(company: string): string;
  readonly recordHeading: string;
  readonly recordColumns: readonly [string, string, string];
  readonly recordNotFound: string;
  recordError(message: string): string;
  readonly otherHoldingsHeading: string;
  readonly noOtherHoldings: string;
  otherHoldingsError(message: string): string;
  readonly heldCategories: string;
  readonly cameraStays: string;
  readonly requestsHeading: string;
  readonly noRequests: string;
  readonly requestColumns: readonly [string, string, string, string, string];
  readonly requestKinds: Readonly<Record<string, string>>;
  readonly requestStates: Readonly<Record<'open' | 'overdue' | 'answered', string>>;
  readonly outcomes2: Readonly<Record<string, string>>;
  readonly channels: Readonly<Record<string, string>>;
  readonly notVerified: string;
  extendedTo(date: string): string;
  readonly transferOutside: string;
  transferYes(country: string, safeguard: string): string;
  readonly transferNo: string;
  collectsFor(categories: string, ids: string): string;
  /** The partner holds a record another customer claims as well. */
  sharedRecord: string;
  readonly retentionHeading: string;
  erasureRule(timeZone: string, anonymiseCamera: boolean): string;
  recordsRule(years: number): string;
  readonly partnerKeepsRule: string;
  readonly rightsHeading: string;
  readonly rights: {
    readonly access: string;
    readonly rectification: string;
    readonly erasure: string;
    readonly restriction: string;
    readonly objection: string;
    readonly portability: string;
    readonly withdraw: string;
  };
  howToRequest(how: string): string;
  answerWithin(months: number, extension: number): string;
  complaint(authority: string): string;
}

const sv: AccessReportText = {
  title: 'Registerutdrag: dina uppgifter hos oss och våra partner',
  intro: (controller) =>
    `Här ser du vilka uppgifter ${controller} har om dig, vad vi har lämnat till varje partner, när och varför, vilka uppgifter partnern samlar in direkt, vad som gäller för samtycke, begränsning och radering, hur länge uppgifterna sparas och vilka rättigheter du har.`,
  subjectId: 'Kundnummer',
  generated: 'Skapat',
  timeZone: 'Tider anges i tidszonen',
  policyDigest: 'Policyversion (kontrollsumma)',
  restrictionHeading: 'Begränsning av behandling',
  restricted: (since) =>
    `Behandlingen av dina uppgifter är begränsad sedan ${since}. Inga nya uppgifter skickas till våra partner så länge begränsningen gäller, och varje partner har meddelats; vad det innebär hos var och en står under partnern nedan.`,
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
    mailchimp: 'Avregistrering via nyhetsbrevet (Mailchimp)',
  },
  erasureHeading: 'Radering',
  noErasure: 'Ingen radering är aktuell.',
  erasureDue: 'Radering sker',
  erasureCompleted: 'Raderingen slutfördes',
  erasureInProgress: 'Raderingen pågår.',
  recordMissing: (since, after) =>
    `Din kundpost saknas i vårt kundregister sedan ${since}. Kommer den inte tillbaka raderas dina uppgifter hos alla mottagare efter ${after}.`,
  erasureColumns: ['Partner', 'Status'],
  erasureStates: {
    confirmed: 'Raderat (bekräftat av partnern)',
    pending: 'Pågår',
    failed: 'Misslyckades, åtgärdas av oss',
    'nothing-held': 'Hade inga uppgifter om dig',
    unknown: 'Oklart om partnern har uppgifter om dig; vi kontrollerar det',
    conflict: 'Uppgifterna delas med en annan kund hos partnern; vi reder ut det',
    'no-adapter': 'Raderas för hand, ännu inte bekräftat',
    'erased-manually': 'Raderat för hand (bekräftat av oss)',
  },
  erasureMissingHeading: 'Det här återstår innan raderingen är klar',
  erasureMissingColumns: ['Vad', 'Partner', 'Sedan'],
  erasureGapKinds: {
    partner: 'Partnern har inte bekräftat raderingen',
    'unknown-outcome': 'En överföring med okänt utfall är inte utredd',
    hook: 'Kameradata är inte anonymiserade',
    'no-adapter': 'Partnern raderas för hand och det är inte bekräftat',
    conflict: 'En uppgift delas med en annan kund och måste redas ut',
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
    restrict: 'Begränsning meddelad',
    unrestrict: 'Begränsning hävd',
    restrict_no_mechanism: 'Begränsning noterad: partnern har ingen funktion för begränsning',
    unrestrict_no_mechanism: 'Hävd begränsning noterad: partnern har ingen funktion för begränsning',
    unrestrict_without_consent: 'Begränsning hävd: fortsatt avregistrerad, inget gällande samtycke',
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
  outcomes: { ok: 'Genomförd', failed: 'Misslyckades', unknown: 'Okänt utfall', pending: 'Pågår', noted: 'Noterad' },
  whileRestricted: 'Vid begränsning',
  restrictionBehaviours: {
    suppress:
      'Du avregistreras från utskicken medan begränsningen varar; när den hävs gäller ditt samtycke som det står i vår samtyckeslogg.',
    archive: 'Kontakten arkiveras hos partnern medan begränsningen varar och återställs när den hävs.',
    keep: 'Partnern har ingen funktion för begränsning: den behåller det den har men får inget nytt från oss.',
  },
  restrictionApplied: 'Partnern har fått veta om din begränsning.',
  restrictionPending: 'Partnern har ännu inte fått veta om din begränsning.',
  retainedHeading: 'Detta sparar partnern även efter radering',
  liveHeading: (partner) => `Vad ${partner} har om dig just nu`,
  liveNotFound: 'Partnern har inga uppgifter om dig.',
  liveError: (message) => `Partnern kunde inte tillfrågas: ${message}`,
  liveColumns: ['Kategori', 'Fält', 'Värde'],
  notCovered: 'Finns inte i vår policy (vi utreder det)',
  outsidePolicy: (category) => `${category} (ska enligt vår policy inte finnas hos partnern; vi utreder det)`,
  answersRequest: (received, verification) =>
    `Detta utdrag besvarar din begäran om registerutdrag som vi tog emot ${received}${verification ? `, verifierad genom ${verification}` : ''}.`,
  companyHeading: (company) => `Hos ${company}`,
  companyIntro: (company) =>
    `${company} har huvudkopian på dina uppgifter; våra partner får sina uppgifter från oss. Så här ser dina uppgifter ut hos oss i dag.`,
  recordHeading: 'Dina kunduppgifter',
  recordColumns: ['Kategori', 'Fält', 'Värde'],
  recordNotFound: 'Vi har inga kunduppgifter om dig.',
  recordError: (message) => `Kunduppgifterna kunde inte läsas just nu: ${message}`,
  otherHoldingsHeading: 'Övriga uppgifter vi har om dig',
  noOtherHoldings: 'Inga övriga uppgifter.',
  otherHoldingsError: (message) => `Uppgifterna kunde inte hämtas just nu: ${message}`,
  heldCategories: 'Kategorier av uppgifter vi har',
  cameraStays: 'Data från kamerorna lämnar inte våra servrar, utom när du ber om det.',
  requestsHeading: 'Dina begäranden',
  noRequests: 'Inga begäranden har registrerats.',
  requestColumns: ['Mottagen', 'Begäran', 'Verifierad', 'Ska besvaras senast', 'Besvarad'],
  requestKinds: {
    access: 'Registerutdrag',
    rectification: 'Rättelse',
    restriction: 'Begränsning',
    erasure: 'Radering',
    objection: 'Invändning',
  },
  requestStates: { open: 'Pågår', overdue: 'Försenad', answered: 'Besvarad' },
  outcomes2: {
    fulfilled: 'tillgodosedd',
    'partly-fulfilled': 'delvis tillgodosedd',
    refused: 'avslagen',
    withdrawn: 'återkallad',
  },
  channels: {
    letter: 'brev',
    email: 'e-post',
    'web-form': 'webbformulär',
    phone: 'telefon',
    'signed-letter': 'egenhändigt undertecknat brev',
    bankid: 'BankID',
    'id-document': 'id-handling',
    'account-login': 'inloggning på ditt konto',
    'secure-message': 'säkert meddelande',
  },
  notVerified: 'Inte ännu',
  extendedTo: (date) => `förlängt till ${date}`,
  transferOutside: 'Behandlas utanför EU/EES',
  transferYes: (country, safeguard) => `Ja, i ${country}, med stöd av ${safeguard}`,
  transferNo: 'Nej, inom EU/EES',
  sharedRecord:
    'Partnern har en post som också hör ihop med en annan kund (samma e-postadress). Vi visar den inte här, för den kan innehålla den andra kundens uppgifter; vi reder ut vems den är och svarar dig.',
  collectsFor: (categories, ids) => `Ja: det partnern samlar in själv (${categories}), för partnerns id ${ids}`,
  retentionHeading: 'Hur länge uppgifterna sparas',
  erasureRule: (timeZone, camera) =>
    `När ditt abonnemang upphör raderar vi alla dina personuppgifter hos oss och våra partner${camera ? ' och anonymiserar data från kamerorna' : ''} vid närmaste månadsskifte (tidszon ${timeZone}).`,
  recordsRule: (years) =>
    `Våra egna uppgifter om vad som skickats till vem (överföringslogg, samtycken, begäranden) sparas så länge kundrelationen pågår${years > 0 ? ` och ${years === 1 ? 'ett år' : `${years} år`} därefter` : ''}.`,
  partnerKeepsRule: 'Vad varje partner sparar även efter radering står under partnern nedan.',
  rightsHeading: 'Dina rättigheter',
  rights: {
    access: 'Att få veta vilka uppgifter vi behandlar om dig (det här utdraget).',
    rectification: 'Att få felaktiga uppgifter rättade; rättelsen når alla partner som har uppgiften.',
    erasure: 'Att få dina uppgifter raderade.',
    restriction: 'Att få behandlingen begränsad ("blockerad"), till exempel medan en uppgift prövas.',
    objection: 'Att invända mot behandling som grundar sig på vårt berättigade intresse.',
    portability: 'Att få ut de uppgifter du lämnat till oss i ett maskinläsbart format.',
    withdraw:
      'Att när som helst återkalla ett samtycke; det påverkar inte lagligheten i behandlingen innan du återkallade det.',
  },
  howToRequest: (how) => `Så gör du en begäran: ${how}`,
  answerWithin: (months, extension) =>
    `Vi besvarar en begäran inom ${months === 1 ? 'en månad' : `${months} månader`}. Är begäran omfattande kan tiden förlängas med högst ${extension === 1 ? 'en månad' : `${extension} månader`}; då får du veta det, och varför, inom den första månaden.`,
  complaint: (authority) => `Är du missnöjd med hur vi behandlar dina uppgifter kan du klaga hos ${authority}.`,
};

const en: AccessReportText = {
  title: 'Access report: your data with us and at our partners',
  intro: (controller) =>
    `This report shows what ${controller} holds about you, what it has shared with each partner, when and why, what each partner collects directly, where your consent, restriction and erasure stand, how long data is kept and what your rights are.`,
  subjectId: 'Customer number',
  generated: 'Generated',
  timeZone: 'Times are given in the time zone',
  policyDigest: 'Policy version (digest)',
  restrictionHeading: 'Restriction of processing',
  restricted: (since) =>
    `Processing of your data has been restricted since ${since}. Nothing new is sent to our partners while the restriction lasts, and each partner has been told; what that means at each is stated under the partner below.`,
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
    mailchimp: 'Unsubscribed through the newsletter (Mailchimp)',
  },
  erasureHeading: 'Erasure',
  noErasure: 'No erasure is due.',
  erasureDue: 'Erasure takes effect',
  erasureCompleted: 'Erasure completed',
  erasureInProgress: 'Erasure is in progress.',
  recordMissing: (since, after) =>
    `Your customer record has been missing from our customer register since ${since}. Unless it comes back, your data is erased at every recipient after ${after}.`,
  erasureColumns: ['Partner', 'Status'],
  erasureStates: {
    confirmed: 'Erased (confirmed by the partner)',
    pending: 'In progress',
    failed: 'Failed, being handled by us',
    'nothing-held': 'Held no data about you',
    unknown: 'Unclear whether the partner holds data about you; we are checking',
    conflict: 'The record is shared with another customer at the partner; we are sorting it out',
    'no-adapter': 'Erased by hand, not confirmed yet',
    'erased-manually': 'Erased by hand (confirmed by us)',
  },
  erasureMissingHeading: 'What is left before the erasure is complete',
  erasureMissingColumns: ['What', 'Partner', 'Since'],
  erasureGapKinds: {
    partner: 'The partner has not confirmed the erasure',
    'unknown-outcome': 'A transfer whose outcome is unknown is not resolved',
    hook: 'Camera data not anonymised yet',
    'no-adapter': 'The partner is erased by hand and that is not confirmed',
    conflict: 'A detail shared with another customer must be settled',
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
    restrict: 'Restriction passed on',
    unrestrict: 'Restriction lifted',
    restrict_no_mechanism: 'Restriction noted: the partner has no restriction mechanism',
    unrestrict_no_mechanism: 'End of restriction noted: the partner has no restriction mechanism',
    unrestrict_without_consent: 'Restriction lifted: still unsubscribed, no consent in force',
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
  outcomes: { ok: 'Done', failed: 'Failed', unknown: 'Outcome unknown', pending: 'In progress', noted: 'Noted' },
  whileRestricted: 'While restricted',
  restrictionBehaviours: {
    suppress:
      'You are unsubscribed from the mailings while the restriction lasts; when it ends, your consent applies as our consent ledger records it.',
    archive: 'The contact is archived at the partner while the restriction lasts, and restored when it ends.',
    keep: 'The partner has no restriction mechanism: it keeps what it holds, and is sent nothing new by us.',
  },
  restrictionApplied: 'The partner has been told about your restriction.',
  restrictionPending: 'The partner has not been told about your restriction yet.',
  retainedHeading: 'What the partner keeps even after erasure',
  liveHeading: (partner) => `What ${partner} holds about you now`,
  liveNotFound: 'The partner holds no data about you.',
  liveError: (message) => `The partner could not be asked: ${message}`,
  liveColumns: ['Category', 'Field', 'Value'],
  notCovered: 'Not in our policy (we are looking into it)',
  outsidePolicy: (category) => `${category} (our policy says the partner should not have it; we are looking into it)`,
  answersRequest: (received, verification) =>
    `This report answers your access request, received ${received}${verification ? ` and verified by ${verification}` : ''}.`,
  companyHeading: (company) => `At ${company}`,
  companyIntro: (company) =>
    `${company} holds the master copy of your data; our partners get theirs from us. This is what we hold about you today.`,
  recordHeading: 'Your customer record',
  recordColumns: ['Category', 'Field', 'Value'],
  recordNotFound: 'We hold no customer record about you.',
  recordError: (message) => `The customer record could not be read just now: ${message}`,
  otherHoldingsHeading: 'Other data we hold about you',
  noOtherHoldings: 'No other data.',
  otherHoldingsError: (message) => `This could not be read just now: ${message}`,
  heldCategories: 'Categories of data we hold',
  cameraStays: 'Camera data does not leave our servers, except when you ask for it.',
  requestsHeading: 'Your requests',
  noRequests: 'No requests have been recorded.',
  requestColumns: ['Received', 'Request', 'Verified', 'Due by', 'Answered'],
  requestKinds: {
    access: 'Access',
    rectification: 'Rectification',
    restriction: 'Restriction',
    erasure: 'Erasure',
    objection: 'Objection',
  },
  requestStates: { open: 'In progress', overdue: 'Overdue', answered: 'Answered' },
  outcomes2: {
    fulfilled: 'fulfilled',
    'partly-fulfilled': 'partly fulfilled',
    refused: 'refused',
    withdrawn: 'withdrawn',
  },
  channels: {
    letter: 'letter',
    email: 'email',
    'web-form': 'web form',
    phone: 'phone',
    'signed-letter': 'a personally signed letter',
    bankid: 'BankID',
    'id-document': 'an identity document',
    'account-login': 'signing in to your account',
    'secure-message': 'secure message',
  },
  notVerified: 'Not yet',
  extendedTo: (date) => `extended to ${date}`,
  transferOutside: 'Processed outside the EU/EEA',
  transferYes: (country, safeguard) => `Yes, in ${country}, under ${safeguard}`,
  transferNo: 'No, inside the EU/EEA',
  sharedRecord:
    "The partner has a record that also belongs with another customer (the same email address). We do not show it here, as it may hold the other customer's data; we are finding out whose it is and will answer you.",
  collectsFor: (categories, ids) =>
    `Yes: what the partner collects itself (${categories}), for the partner's ids ${ids}`,
  retentionHeading: 'How long data is kept',
  erasureRule: (timeZone, camera) =>
    `When your subscription ends we erase all your personal data, with us and at our partners${camera ? ', and anonymise camera data,' : ''} at the first month boundary after it ends (${timeZone} time).`,
  recordsRule: (years) =>
    `Our own records of what was sent where (the transfer log, consents, requests) are kept while the customer relationship lasts${years > 0 ? ` and ${years === 1 ? 'one year' : `${years} years`} after it` : ''}.`,
  partnerKeepsRule: 'What each partner keeps even after erasure is listed under the partner below.',
  rightsHeading: 'Your rights',
  rights: {
    access: 'To know what data we process about you (this report).',
    rectification: 'To have incorrect data corrected; the correction reaches every partner that has the data.',
    erasure: 'To have your data erased.',
    restriction: 'To have processing restricted ("blocked"), for example while a correction is checked.',
    objection: 'To object to processing that rests on our legitimate interest.',
    portability: 'To receive the data you gave us in a machine-readable format.',
    withdraw:
      'To withdraw a consent at any time; this does not affect the lawfulness of processing before you withdrew it.',
  },
  howToRequest: (how) => `How to make a request: ${how}`,
  answerWithin: (months, extension) =>
    `We answer a request within ${months === 1 ? 'one month' : `${months} months`}. Where a request is complex the time can be extended by at most ${extension === 1 ? 'one month' : `${extension} months`}; you are then told so, and why, within the first month.`,
  complaint: (authority) => `If you are unhappy with how we process your data, you can complain to ${authority}.`,
};

export const accessReportText: Readonly<Record<AccessReportLang, AccessReportText>> = { sv, en };
