import type { EraseMode, PartnerPayload } from './adapter.ts';
import type { PartnerPolicy, RestrictionMode } from './policy/index.ts';

/**
 * Desired vs observed -> the one action that closes the difference (DESIGN §3). Pure: no I/O, no
 * clock of its own. Everything it needs is in the arguments, so every rule below is unit-tested.
 */

/** What the gateway knows about the subject beyond the master record. */
export interface Directives {
  /** Erased: nothing may ever be (re)created for the subject, anywhere. */
  readonly tombstoned: boolean;
  /** When erasure falls due (first month boundary after the subscription ended), if it ended. */
  readonly erasureDueAt: Date | null;
  /** Restricted ("blocked"): nothing new is sent; what partners hold stays. */
  readonly restricted: boolean;
  /** The latest consent ledger entry per purpose. */
  readonly consent: Readonly<Record<string, ConsentState | undefined>>;
}

export interface ConsentState {
  readonly status: 'granted' | 'withdrawn';
  /** The ledger entry's id: a partner is told about each grant once. */
  readonly entryId: string;
}

/** The observed state: the links row for (subject, partner), or null when there is none. */
export interface Link {
  readonly partnerIds: readonly string[];
  /** Digest of the last payload (and subscription) the partner acknowledged. */
  readonly digest: string | null;
  /** Whether the partner holds anything for the subject, as far as the gateway knows. */
  readonly holds: boolean;
  /** The consent grant the partner was last told about. */
  readonly consentEntryApplied: string | null;
  /** Consent withdrawal applied (unsubscribed): kept, but not processed. */
  readonly suppressed: boolean;
  /** The partner confirmed an erasure; partnerIds then lists what was removed. */
  readonly erased: boolean;
  /**
   * A call that sent data has an unknown outcome (its answer was lost): the partner may hold a record
   * under an id the gateway never learned, so an erasure must look for it.
   */
  readonly uncertain?: boolean;
  /** The id the partner last answered with (see SubjectRef.currentId). */
  readonly currentId?: string | null;
  /**
   * The restriction behaviour carried out at the partner for the current restriction (null: none).
   * Unrestrict undoes this one, whatever the policy says by then.
   */
  readonly restrictionApplied?: RestrictionMode | null;
}

export interface ReconcileInput {
  readonly partner: PartnerPolicy;
  /** The master record's minimised payload for this partner, or null when the host has no record. */
  readonly payload: PartnerPayload | null;
  /** Categories present in the payload (from the policy's field map). */
  readonly payloadCategories: readonly string[];
  /** Keyed digest of the payload; the subscription is tracked apart, through the consent entry. */
  readonly digestOf: (payload: PartnerPayload) => string;
  /** Ids the host's record carries for this partner (Auth0 user id, balena device ids). */
  readonly hostIds: readonly string[];
  readonly directives: Directives;
  readonly link: Link | null;
  readonly now: Date;
  /** Resync with --force: send even when the digest says the partner is in step. */
  readonly force?: boolean;
  /**
   * The policy no longer names the partner (its adapter is still given): nothing is sent, and what it
   * may hold is erased (offboarding).
   */
  readonly offboarding?: boolean;
  /**
   * The partner holds a field this payload lacks that it cannot clear (adapter cannotClear), e.g. the
   * policy stopped sending it: an update would leave it there, so the subject is erased and re-created.
   */
  readonly unclearable?: boolean;
}

export type NoneReason =
  | 'unchanged'
  | 'restricted'
  | 'no-consent'
  | 'erased'
  | 'nothing-held'
  | 'action-only'
  | 'not-sent'
  | 'no-data'
  /** A partner the policy no longer names, holding nothing of the subject. */
  | 'not-in-policy'
  /** The source stopped returning the record: held until the grace period ends (src/missing-records.ts). */
  | 'record-missing';

export type EraseReason =
  | 'erasure'
  | 'record-gone'
  | 'consent-withdrawn'
  | 'missing-required-data'
  /** The partner holds the subject without a consent grant it was told of (it became consent-based). */
  | 'no-consent'
  /** The policy no longer names the partner. */
  | 'offboarded'
  /** It holds a field it cannot clear that it may no longer have: re-created without it afterwards. */
  | 'uncleared-field';

export type Action =
  | { readonly kind: 'none'; readonly reason: NoneReason }
  | {
      readonly kind: 'upsert';
      readonly payload: PartnerPayload;
      readonly subscription?: 'subscribed';
      /** The consent entry this upsert tells the partner about, when it carries a subscription. */
      readonly consentEntryId?: string;
      readonly digest: string;
      readonly create: boolean;
    }
  | { readonly kind: 'erase'; readonly mode: EraseMode; readonly reason: EraseReason }
  | { readonly kind: 'suppress'; readonly reason: 'consent-withdrawn' }
  /**
   * Tell the partner about a restriction (GDPR Art. 19) by its restriction behaviour: suppress
   * (unsubscribe), archive, or keep (no mechanism: noted, no call).
   */
  | { readonly kind: 'restrict'; readonly mode: RestrictionMode }
  /**
   * Undo what restrict did: archive -> unarchive; keep -> noted; suppress -> noted, the member staying
   * unsubscribed (a granted consent is restored by an upsert carrying the subscription instead).
   */
  | { readonly kind: 'unrestrict'; readonly mode: RestrictionMode };

export function isErased(directives: Directives, now: Date): boolean {
  return (
    directives.tombstoned || (directives.erasureDueAt !== null && directives.erasureDueAt.getTime() <= now.getTime())
  );
}

export function reconcile(input: ReconcileInput): Action {
  const { partner, payload, directives, link, now } = input;
  // A partner that collects directly (balena) may hold data under ids the host knows, even though we
  // never sent anything, unless it already confirmed erasing exactly those ids.
  // Ids remembered on the link count as well as those the record names now: a device the host dropped
  // from its record (or a record that is gone) is still at balena.
  const erasedIds = link?.erased ? link.partnerIds : [];
  const knownIds = [...(link && !link.erased ? link.partnerIds : []), ...input.hostIds];
  const mayHold =
    (link?.holds ?? false) ||
    (link?.uncertain ?? false) ||
    (partner.collects.length > 0 && knownIds.some((id) => !erasedIds.includes(id)));

  if (isErased(directives, now)) {
    return mayHold ? { kind: 'erase', mode: partner.erasure, reason: 'erasure' } : { kind: 'none', reason: 'erased' };
  }
  if (input.offboarding) {
    // What the partner collected itself is unknown once the policy no longer says: any id the gateway
    // knows for the subject there (a device the host named) is erased too.
    return mayHold || knownIds.some((id) => !erasedIds.includes(id))
      ? { kind: 'erase', mode: partner.erasure, reason: 'offboarded' }
      : { kind: 'none', reason: 'not-in-policy' };
  }
  if (payload === null) {
    // The host no longer has the subject: nobody should.
    return mayHold
      ? { kind: 'erase', mode: partner.erasure, reason: 'record-gone' }
      : { kind: 'none', reason: 'nothing-held' };
  }
  // GDPR Art. 19: every partner that may hold the subject is told about a restriction, through its
  // restriction behaviour, and about its end. Erasure (above) goes first: it makes both moot.
  const applied = link?.restrictionApplied ?? null;
  if (directives.restricted && applied === null && mayHold) return { kind: 'restrict', mode: partner.restriction };
  if (!directives.restricted && applied !== null) {
    const granted = partner.consent && directives.consent[partner.consent.purpose]?.status === 'granted';
    // A suppressed member with a current grant is re-subscribed by the upsert below (exactly the
    // consented state); without one it stays unsubscribed, and only the end is noted.
    if (applied !== 'suppress' || !granted) return { kind: 'unrestrict', mode: applied };
  }
  if (partner.mode === 'action') return { kind: 'none', reason: 'action-only' };
  if (partner.mode === 'none') return { kind: 'none', reason: 'not-sent' };
  let subscription: 'subscribed' | undefined;
  let consentEntryId: string | undefined;
  /** An unsubscribed member the partner keeps: kept in step with the record, never re-subscribed. */
  let unsubscribed = false;
  if (!partner.consent && directives.restricted) return { kind: 'none', reason: 'restricted' };
  if (partner.consent) {
    const consent = directives.consent[partner.consent.purpose];
    // A withdrawal stops processing, so it goes out even while the subject is restricted.
    if (consent?.status !== 'granted') {
      if (!link?.holds) return { kind: 'none', reason: 'no-consent' };
      if (partner.consent.onWithdrawal === 'delete')
        return { kind: 'erase', mode: partner.erasure, reason: 'consent-withdrawn' };
      // Held although the partner was never told of a grant: it got the subject before it became
      // consent-based. Unsubscribing keeps a member who never subscribed; there is no basis to keep it.
      if (link.consentEntryApplied === null && !link.suppressed)
        return { kind: 'erase', mode: partner.erasure, reason: 'no-consent' };
      if (!link.suppressed) return { kind: 'suppress', reason: 'consent-withdrawn' };
      // What the partner keeps of an unsubscribed member is still the subject's data: it follows
      // the record (a changed address or name), so the partner holds it as it is now.
      unsubscribed = true;
    }
    if (directives.restricted) return { kind: 'none', reason: 'restricted' };
    if (!unsubscribed && (link?.consentEntryApplied !== consent!.entryId || link.suppressed)) {
      subscription = 'subscribed';
      consentEntryId = consent!.entryId;
    }
  }

  const missingRequired = partner.requires.some((category) => !input.payloadCategories.includes(category));
  if (missingRequired || Object.keys(payload).length === 0) {
    return link?.holds
      ? { kind: 'erase', mode: partner.erasure, reason: 'missing-required-data' }
      : { kind: 'none', reason: 'no-data' };
  }

  if (link?.holds && input.unclearable) return { kind: 'erase', mode: partner.erasure, reason: 'uncleared-field' };

  const digest = input.digestOf(payload);
  // A forced resync re-sends to members in step, not to unsubscribed ones: nothing new to tell them.
  if ((!input.force || unsubscribed) && link?.holds && link.digest === digest && subscription === undefined) {
    return { kind: 'none', reason: unsubscribed ? 'no-consent' : 'unchanged' };
  }
  return {
    kind: 'upsert',
    payload,
    digest,
    create: !link?.holds,
    ...(subscription ? { subscription, consentEntryId } : {}),
  };
}
