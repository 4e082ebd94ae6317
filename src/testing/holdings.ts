import type { Holding } from '../emulator.ts';
import { createKeys, type GatewaySecrets } from '../keys.ts';
import type { Policy } from '../policy/index.ts';
import { testSecrets } from './test-gateway.ts';

/** Partner name -> what it holds, keyed by the partner's own id (as emulators' holdings() report). */
export type HoldingsByPartner = Readonly<Record<string, Readonly<Record<string, Holding>>>>;

export interface HoldingsOptions {
  /**
   * Records of subjects erased (or never to be shared): nothing of theirs may be held anywhere. A
   * holding is recognised as theirs by what the partner was given, not by a name (made-up data sets
   * repeat names, and fictional phone ranges are small): the pseudonym the gateway gave that partner
   * (E-logistik's key, Stripe's metadata, Intercom's external_id), a partner id the record names
   * (balena devices), or the email. So a Stripe customer, which holds only a name, is found too.
   */
  readonly erased?: readonly unknown[];
  /**
   * The secrets of the gateway under test, to compute the pseudonyms it gave each partner. Default:
   * testSecrets, which createTestGateway() uses.
   */
  readonly secrets?: GatewaySecrets;
}

export interface PartnerHoldingsReport {
  readonly partner: string;
  readonly records: number;
  /** Categories (or, outside every category, field names) found in the holdings, sorted. */
  readonly held: readonly string[];
  /** Categories the policy lets the partner have: what it is sent and what it collects itself. */
  readonly allowed: readonly string[];
  /**
   * Field names and categories only: never a held value, nor the partner's id for a record (Mailchimp's
   * is a hash of the email).
   */
  readonly problems: readonly string[];
}

/** Holdings name fields by category root ('name.given' -> name), as the emulator contract asks. */
function categoryOf(policy: Policy, field: string): string | undefined {
  const category = field.split('.')[0] ?? field;
  return policy.document.categories[category] === undefined ? undefined : category;
}

/** Checks one partner's holdings against the policy: only allowed categories, nothing of the erased. */
export function checkPartnerHoldings(
  policy: Policy,
  partner: string,
  holdings: Readonly<Record<string, Holding>>,
  { erased = [], secrets = testSecrets }: HoldingsOptions = {},
): PartnerHoldingsReport {
  const entries = Object.entries(holdings);
  if (!policy.partnerNames.includes(partner)) {
    const problems =
      entries.length > 0 ? [`${partner} holds ${entries.length} record(s) but is not in the policy`] : [];
    return { partner, records: entries.length, held: [], allowed: [], problems };
  }
  const p = policy.partner(partner);
  const allowed = [...new Set([...p.sends, ...p.collects])];
  const erasedEmails = new Set(erased.flatMap((r) => emailOf(r)));
  const given = erased.length > 0 ? givenToPartner(partner, erased, secrets) : new Set<string>();
  const held = new Set<string>();
  const problems = new Set<string>();
  for (const [id, holding] of entries) {
    // The record is the erased subject's when it carries what the gateway gave the partner for them.
    const theirs = given.has(id) || stringsIn(holding.meta).some((s) => given.has(s));
    for (const [field, value] of Object.entries(holding.personal)) {
      const category = categoryOf(policy, field);
      held.add(category ?? field);
      if (category === undefined || !allowed.includes(category))
        problems.add(`${partner} holds ${field}, outside its allowlist (${allowed.join(', ') || 'nothing'})`);
      if (theirs || stringsIn(value).some((s) => erasedEmails.has(s.toLowerCase())))
        problems.add(`${partner} still holds ${field} of an erased subject`);
    }
  }
  return { partner, records: entries.length, held: [...held].sort(), allowed, problems: [...problems] };
}

/** Every problem at every partner given; empty when all hold only what the policy allows. */
export function holdingsProblems(policy: Policy, holdings: HoldingsByPartner, options: HoldingsOptions = {}): string[] {
  return Object.entries(holdings).flatMap(
    ([partner, held]) => checkPartnerHoldings(policy, partner, held, options).problems,
  );
}

/** Throws an Error listing every problem (field names and partner ids, never values). */
export function assertHoldingsAllowed(
  policy: Policy,
  holdings: HoldingsByPartner,
  options: HoldingsOptions = {},
): void {
  const problems = holdingsProblems(policy, holdings, options);
  if (problems.length > 0) throw new Error(`partners hold more than the policy allows:\n  ${problems.join('\n  ')}`);
}

/** The pseudonyms the gateway gave the partner for the erased subjects, and the partner ids their records name. */
function givenToPartner(partner: string, erased: readonly unknown[], secrets: GatewaySecrets): Set<string> {
  // Only the pseudonym key matters here: no environment, so an audit key setting cannot interfere.
  const keys = createKeys(secrets, {});
  return new Set(
    erased.flatMap((record) => {
      const r = record as { id?: unknown; partnerIds?: Record<string, unknown> } | null;
      const named = r?.partnerIds?.[partner];
      return [
        ...(typeof r?.id === 'string' ? [keys.pseudonym(partner, r.id)] : []),
        ...(Array.isArray(named) ? named.filter((id): id is string => typeof id === 'string') : []),
      ];
    }),
  );
}

function emailOf(record: unknown): string[] {
  const email = (record as { email?: unknown } | null)?.email;
  return typeof email === 'string' && email !== '' ? [email.toLowerCase()] : [];
}

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}
