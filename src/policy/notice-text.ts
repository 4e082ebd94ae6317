/**
 * The notice's fixed wording, per language. Every fact in it (names, lists, years, authority, contact)
 * is a parameter filled in from the policy by notice.ts; only the phrasing lives here. The Swedish text
 * follows test/fixtures/published-notice/privacy-notice.sv.txt, the published reference, as closely as
 * the data allows.
 */

import type { LegalBasis } from './schema.ts';

export type NoticeLang = 'sv' | 'en';

export interface NoticeText {
  readonly title: string;
  companyHeading(company: string, hosting: string): string;
  masterCopy(company: string): string;
  /** `kinds` are the camera categories' labels, already in running-text case. */
  cameraStays(kinds: readonly string[]): string;
  readonly leavingHeading: string;
  leaving(o: { readonly anonymiseCamera: boolean; readonly timeZone: string }): string;
  archivedInstead(partners: readonly string[]): string;
  /** Before the list of what partners keep after erasure. */
  readonly keptAfterErasure: string;
  /** `purpose` in running-text case; `basis` one of the legal bases. */
  legalBasis(purpose: string, basis: LegalBasis): string;
  /** The interest a legitimate-interest purpose pursues, as the policy states it (a sentence). */
  legitimateInterest(interest: string): string;
  readonly rightToObject: string;
  transfer(partner: string, country: string, safeguard: string): string;
  readonly otherHeading: string;
  /** `purposes` are the consent-based purposes' labels, in running-text case. */
  consentWithdrawal(purposes: readonly string[], company: string): string;
  /** GDPR Art. 7(3): withdrawal does not undo the lawfulness of what came before. */
  readonly withdrawalEffect: string;
  /**
   * What a withdrawal does at a consent-based partner (its `onWithdrawal`): `categories` are what it
   * is sent, in running-text case. unsubscribe: kept as unsubscribed, in step with the record.
   */
  withdrawalAt(partner: string, onWithdrawal: 'unsubscribe' | 'delete', categories: readonly string[]): string;
  answerWithin(months: number): string;
  retention(years: number, company: string): string;
  access(company: string): string;
  readonly rectification: string;
  /**
   * What a restriction does at the partners (GDPR Art. 18 and 19), from their restriction behaviours:
   * display names by behaviour, each list possibly empty.
   */
  restriction(by: {
    readonly suppress: readonly string[];
    readonly archive: readonly string[];
    readonly keep: readonly string[];
  }): string;
  complaint(authority: string): string;
  contact(contact: string): string;
  controller(legalName: string): string;
}

const svNumbers = ['noll', 'ett', 'två', 'tre', 'fyra', 'fem', 'sex', 'sju', 'åtta', 'nio', 'tio'];
const enNumbers = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

export function joinList(items: readonly string[], and: string): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${and} ${items.at(-1)}`;
}

/**
 * A label as it reads inside a sentence: "Nyhetsbrev och marknadsföring" -> "nyhetsbrev och …", but an
 * initialism such as "IP addresses" keeps its capitals.
 */
export function inSentence(label: string): string {
  const [first = '', second = ''] = label;
  return second && second === second.toLowerCase() ? first.toLowerCase() + label.slice(1) : label;
}

const sv: NoticeText = {
  title: 'Vart finns din data',
  companyHeading: (company, hosting) => `Hos ${company} (${hosting})`,
  masterCopy: () => 'Vi har huvudkopian på all din information och våra olika partners får sin data från oss.',
  cameraStays: (kinds) => `Data från kameror (${kinds.join(', ')}) lämnar inte våra servrar (utom när du ber om det).`,
  leavingHeading: 'Om du slutar vara kund',
  leaving: ({ anonymiseCamera, timeZone }) =>
    `Vi raderar alla dina personuppgifter${anonymiseCamera ? ' och vi anonymiserar data från kamerorna' : ''} vid närmaste månadsskifte efter avslutat abonnemang (räknat i tidszonen ${timeZone}).`,
  archivedInstead: (partners) => `Hos ${joinList(partners, 'och')} arkiveras uppgifterna i stället för att raderas.`,
  keptAfterErasure: 'Det här sparar våra partner även efter radering, enligt sina egna regler eller lagkrav:',
  legalBasis: (purpose, basis) =>
    `Rättslig grund för ${purpose}: ${
      {
        consent: 'ditt samtycke',
        contract: 'avtal (uppgifterna behövs för att fullgöra vårt avtal med dig)',
        legal_obligation: 'rättslig förpliktelse',
        vital_interests: 'skydd av grundläggande intressen',
        public_task: 'uppgift av allmänt intresse',
        legitimate_interest: 'vårt berättigade intresse',
      }[basis]
    }.`,
  legitimateInterest: (interest) => `Vårt berättigade intresse: ${interest}`,
  rightToObject: 'Du har rätt att när som helst invända mot den här behandlingen.',
  transfer: (partner, country, safeguard) =>
    `${partner} behandlar uppgifterna i ${country}, utanför EU/EES. Överföringen sker med stöd av ${safeguard}.`,
  otherHeading: 'Övrigt',
  consentWithdrawal: (purposes, company) =>
    `Du kan när som helst återkalla ditt samtycke till ${joinList(purposes, 'och')} genom skriftligt meddelande till ${company}.`,
  withdrawalEffect:
    'Att du återkallar samtycket påverkar inte lagligheten i den behandling som skedde innan du återkallade det.',
  withdrawalAt: (partner, onWithdrawal, categories) =>
    onWithdrawal === 'delete'
      ? `Återkallar du samtycket raderas allt ${partner} har om dig.`
      : `Återkallar du samtycket finns du kvar hos ${partner} som avregistrerad: du får inga fler utskick, och det ${partner} har om dig (${joinList(categories, 'och')}) hålls uppdaterat med våra uppgifter och raderas tillsammans med resten av dina personuppgifter.`,
  answerWithin: (months) =>
    `Vi besvarar din begäran inom ${months === 1 ? 'en månad' : `${svNumbers[months] ?? String(months)} månader`} från att vi tagit emot den.`,
  retention: (years, company) =>
    `För dig som träffat avtal med ${company} sparas uppgifterna så länge det finns en pågående kundrelation${
      years > 0 ? ` och ${svNumbers[years] ?? String(years)} år därefter` : ''
    }.`,
  access: (company) =>
    `Du kan efter skriftlig och egenhändigt undertecknad begäran till ${company} få information om vilka personuppgifter om dig som ${company} behandlar.`,
  rectification: 'Du har även rätt att begära att personuppgifter rättas, blockeras eller raderas.',
  restriction: ({ suppress, archive, keep }) =>
    `Medan behandlingen av dina uppgifter är blockerad (begränsad) skickar vi inget nytt till våra partner och meddelar var och en: ${(
      [
        ...(suppress.length > 0
          ? [
              `hos ${joinList(suppress, 'och')} avregistreras du från utskicken tills blockeringen hävs, och sedan gäller ditt samtycke så som det då står`,
            ]
          : []),
        ...(archive.length > 0
          ? [`hos ${joinList(archive, 'och')} arkiveras dina uppgifter tills blockeringen hävs`]
          : []),
        ...(keep.length > 0
          ? [
              `${joinList(keep, 'och')} har ingen egen funktion för blockering och behåller det ${keep.length === 1 ? 'den' : 'de'} har, men får inget nytt`,
            ]
          : []),
      ] as string[]
    ).join('; ')}.`,
  complaint: (authority) =>
    `Om du är missnöjd med behandlingen kan du lämna in ett klagomål till tillsynsmyndigheten: ${authority}.`,
  contact: (contact) => `Kontakta oss på ${contact} om du har några frågor rörande vår personuppgiftsbehandling.`,
  controller: (legalName) => `Personuppgiftsansvarig är ${legalName}.`,
};

const en: NoticeText = {
  title: 'Where your data is',
  companyHeading: (company, hosting) => `At ${company} (${hosting})`,
  masterCopy: (company) =>
    `${company} holds the master copy of all your information; each partner gets its data from ${company}.`,
  cameraStays: (kinds) => `Camera data (${kinds.join(', ')}) does not leave these servers, except when you ask for it.`,
  leavingHeading: 'If you stop being a customer',
  leaving: ({ anonymiseCamera, timeZone }) =>
    `All your personal data is deleted${anonymiseCamera ? ', and camera data is anonymised,' : ''} at the first month boundary after the subscription ends (in the ${timeZone} time zone).`,
  archivedInstead: (partners) => `At ${joinList(partners, 'and')} the data is archived instead of deleted.`,
  keptAfterErasure: 'What our partners keep even after erasure, under their own rules or the law:',
  legalBasis: (purpose, basis) =>
    `Legal basis for ${purpose}: ${
      {
        consent: 'your consent',
        contract: 'contract (the data is needed to perform our agreement with you)',
        legal_obligation: 'a legal obligation',
        vital_interests: 'the protection of vital interests',
        public_task: 'a task in the public interest',
        legitimate_interest: 'our legitimate interest',
      }[basis]
    }.`,
  legitimateInterest: (interest) => `Our legitimate interest: ${interest}`,
  rightToObject: 'You have the right to object to this processing at any time.',
  transfer: (partner, country, safeguard) =>
    `${partner} processes the data in ${country}, outside the EU/EEA. The transfer rests on ${safeguard}.`,
  otherHeading: 'Other',
  consentWithdrawal: (purposes, company) =>
    `You can withdraw your consent to ${joinList(purposes, 'and')} at any time by written notice to ${company}.`,
  withdrawalEffect: 'Withdrawing your consent does not affect the lawfulness of the processing before you withdrew it.',
  withdrawalAt: (partner, onWithdrawal, categories) =>
    onWithdrawal === 'delete'
      ? `If you withdraw it, everything ${partner} holds about you is erased.`
      : `If you withdraw it, ${partner} keeps you as an unsubscribed contact: you are sent nothing more, and what ${partner} holds about you (${joinList(categories, 'and')}) is kept up to date with our records and erased with the rest of your personal data.`,
  answerWithin: (months) =>
    `We answer your request within ${months === 1 ? 'one month' : `${enNumbers[months] ?? String(months)} months`} of receiving it.`,
  retention: (years, company) =>
    `If you have an agreement with ${company}, your data is kept while the customer relationship lasts${
      years > 0 ? ` and ${enNumbers[years] ?? String(years)} year${years === 1 ? '' : 's'} after it` : ''
    }.`,
  access: (company) =>
    `After a written, personally signed request to ${company} you can get information about which of your personal data ${company} processes.`,
  rectification: 'You also have the right to ask for personal data to be corrected, blocked (restricted) or erased.',
  restriction: ({ suppress, archive, keep }) =>
    `While processing of your data is blocked (restricted) we send our partners nothing new and tell each of them: ${(
      [
        ...(suppress.length > 0
          ? [
              `at ${joinList(suppress, 'and')} you are unsubscribed from the mailings until the block ends, after which your consent applies as it then stands`,
            ]
          : []),
        ...(archive.length > 0 ? [`at ${joinList(archive, 'and')} your data is archived until the block ends`] : []),
        ...(keep.length > 0
          ? [
              `${joinList(keep, 'and')} ${keep.length === 1 ? 'has' : 'have'} no restriction mechanism of ${keep.length === 1 ? 'its' : 'their'} own and ${keep.length === 1 ? 'keeps' : 'keep'} what ${keep.length === 1 ? 'it holds' : 'they hold'}, but ${keep.length === 1 ? 'gets' : 'get'} nothing new`,
            ]
          : []),
      ] as string[]
    ).join('; ')}.`,
  complaint: (authority) =>
    `If you are dissatisfied with the processing, you can lodge a complaint with the supervisory authority: ${authority}.`,
  contact: (contact) => `Contact us at ${contact} if you have any questions about how we process personal data.`,
  controller: (legalName) => `The controller is ${legalName}.`,
};

export const noticeText: Readonly<Record<NoticeLang, NoticeText>> = { sv, en };
