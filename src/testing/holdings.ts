import type { Holding } from '../emulator.ts';
import type { Policy } from '../policy/index.ts';

/** Partner name -> what it holds, keyed by the partner's own id (as emulators' holdings() report). */
export type HoldingsByPartner = Readonly<Record<string, Readonly<Record<string, Holding>>>>;

export interface HoldingsOptions {
  /**
   * Records of subjects erased (or never to be shared): nothing of theirs may be held anywhere. A
   * subject is recognised by its email: made-up data sets repeat names, and phone numbers drawn from
   * the small ranges set aside for fiction repeat too, so only the email tells two people apart.
   */
  readonly erased?: readonly unknown[];
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
  { erased = [] }: HoldingsOptions = {},
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
  const held = new Set<string>();
  const problems = new Set<string>();
  for (const [, holding] of entries) {
    for (const [field, value] of Object.entries(holding.personal)) {
      const category = categoryOf(policy, field);
      held.add(category ?? field);
      if (category === undefined || !allowed.includes(category))
        problems.add(`${partner} holds ${field}, outside its allowlist (${allowed.join(', ') || 'nothing'})`);
      if (stringsIn(value).some((s) => erasedEmails.has(s.toLowerCase())))
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

function emailOf(record: unknown): string[] {
  const email = (record as { email?: unknown } | null)?.email;
  return typeof email === 'string' && email !== '' ? [email.toLowerCase()] : [];
}

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}
