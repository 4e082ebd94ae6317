import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifecycleInputError } from '../../src/lifecycle/index.ts';
import type { MasterRecordInput } from '../../src/record.ts';
import { canaryRecord } from '../support/records.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { fieldPaths, webConsent, writtenWithdrawal } from './helpers.ts';

/**
 * Random interleavings of everything a host and an operator can do to a few subjects, with the
 * invariants checked every time the queues run dry. One gateway serves every run (each run has its
 * own subjects), so the property costs queue work, not database start-ups.
 */

const SUBJECTS_PER_RUN = 2;
type Mutation = 'email' | 'phone' | 'drop-phone' | 'drop-address' | 'restore';
type Op =
  | { kind: 'changed'; s: number; mutation: Mutation }
  | { kind: 'grant' | 'withdraw' | 'restrict' | 'unrestrict' | 'erase'; s: number }
  | { kind: 'resync' }
  | { kind: 'run' };

const subject = fc.integer({ min: 0, max: SUBJECTS_PER_RUN - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('changed' as const),
      s: subject,
      mutation: fc.constantFrom<Mutation>('email', 'phone', 'drop-phone', 'drop-address', 'restore'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('grant' as const), s: subject }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('withdraw' as const), s: subject }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restrict' as const), s: subject }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unrestrict' as const), s: subject }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('erase' as const), s: subject }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'resync' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'run' as const }) },
);

let h: Harness;
let run = 0;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('lifecycle invariants under random interleavings', () => {
  it('hold after every runUntilIdle', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        run++;
        const numbers = Array.from({ length: SUBJECTS_PER_RUN }, (_, k) => 1000 + run * 10 + k);
        const versions = numbers.map(() => 0);
        for (const n of numbers) h.source.put(canaryRecord(n));
        for (const o of [...ops, { kind: 'run' } as const]) {
          if (o.kind === 'run') {
            await h.gateway.runUntilIdle();
            await checkInvariants();
            continue;
          }
          if (o.kind === 'resync') {
            await h.gateway.resync();
            continue;
          }
          const n = numbers[o.s]!;
          const id = `subj-${n}`;
          switch (o.kind) {
            case 'changed':
              h.source.put(mutate(n, o.mutation, ++versions[o.s]!));
              await h.gateway.changed(id);
              break;
            case 'grant':
              // An erased subject cannot be given consent again: that refusal is part of the contract.
              await h.gateway.consent.grant(id, 'marketing', webConsent).catch((e: unknown) => {
                if (!(e instanceof LifecycleInputError && /is erased/.test(e.message))) throw e;
              });
              break;
            case 'withdraw':
              await h.gateway.consent.withdraw(id, 'marketing', writtenWithdrawal);
              break;
            case 'restrict':
              await h.gateway.restrict(id, 'objection pending');
              break;
            case 'unrestrict':
              await h.gateway.unrestrict(id);
              break;
            case 'erase':
              await h.gateway.erase(id, { reason: 'data subject request' });
              break;
          }
        }
      }),
      { numRuns: 25 },
    );
  });
});

function mutate(n: number, mutation: Mutation, version: number): MasterRecordInput {
  const base = canaryRecord(n);
  switch (mutation) {
    case 'email':
      return { ...base, email: `canary-${n}-v${version}-x7q@example.test` };
    case 'phone':
      return { ...base, phone: `+46708${String(100000 + ((n * 37 + version) % 900000)).padStart(6, '0')}` };
    case 'drop-phone': {
      const { phone: _phone, ...rest } = base;
      return rest;
    }
    case 'drop-address': {
      const { address: _address, ...rest } = base;
      return rest;
    }
    case 'restore':
      return base;
  }
}

/** Whose entry a partner holds: every synced payload carries the subject's (unique, canary) name. */
function subjectOfPayload(payload: { name?: { given: string } }): string | undefined {
  const match = payload.name?.given.match(/^CanaryGiven(\d+)x7q$/);
  return match ? `subj-${match[1]}` : undefined;
}

async function checkInvariants(): Promise<void> {
  const db = h.gateway.database;
  const policy = h.gateway.policy;
  const tombstoned = new Set(
    (await db.query<{ subject_id: string }>(`select subject_id from tombstones`)).map((r) => r.subject_id),
  );
  const restricted = new Set(
    (await db.query<{ id: string }>(`select id from subjects where restricted_at is not null`)).map((r) => r.id),
  );
  const everGranted = new Set(
    (
      await db.query<{ subject_id: string }>(`select distinct subject_id from consent_ledger where status = 'granted'`)
    ).map((r) => r.subject_id),
  );
  const latest = new Map(
    (
      await db.query<{ subject_id: string; purpose: string; status: string }>(
        `select distinct on (subject_id, purpose) subject_id, purpose, status from consent_ledger order by subject_id, purpose, id desc`,
      )
    ).map((r) => [`${r.subject_id}/${r.purpose}`, r.status]),
  );

  for (const [partner, adapter] of h.adapters) {
    const allowed = policy.allowedFields(partner);
    const consent = policy.partner(partner).consent;
    for (const { payload, status } of adapter.held.values()) {
      // 1. Minimisation: nothing outside the partner's allowlist, ever.
      expect(
        fieldPaths(payload).filter((f) => !allowed.includes(f)),
        `${partner} holds a field it may not have`,
      ).toEqual([]);
      const id = subjectOfPayload(payload);
      expect(id, `${partner} holds an entry that names no test subject`).toBeDefined();
      // 2. Erasure: an erased subject is present nowhere.
      expect(tombstoned.has(id!), `${partner} still holds erased ${id}`).toBe(false);
      if (consent) {
        // 3. Consent, defined precisely: a consent-based partner holds a subject only if a grant was
        //    ever recorded for it (no grant, no push), and holds it *subscribed* only while the latest
        //    ledger entry for the purpose is a grant. Held but unsubscribed after a withdrawal is fine
        //    (onWithdrawal: unsubscribe keeps the contact, suppressed). Restricted subjects are left out
        //    of the second half: reconcile checks restriction before consent, so a withdrawal made
        //    while restricted waits for unrestrict (a known gap, see consent-restriction.test.ts).
        expect(everGranted.has(id!), `${partner} holds ${id}, who never consented`).toBe(true);
        if (status === 'subscribed' && !restricted.has(id!)) {
          expect(
            latest.get(`${id}/${consent.purpose}`),
            `${partner} holds ${id} subscribed without a current grant`,
          ).toBe('granted');
        }
      }
    }
  }

  // 4. Every partner call has its intent row before it and its outcome row after it.
  const rows = await db.query<{ partner: string; intents: number; outcomes: number; open: number }>(
    `select i.partner, count(*)::int as intents, count(o.seq)::int as outcomes, count(*) filter (where o.seq is null)::int as open
     from transfer_log i left join transfer_log o on o.kind = 'outcome' and o.intent_seq = i.seq
     where i.kind = 'intent' and i.operation <> 'fetch' group by i.partner`,
  );
  for (const [partner, adapter] of h.adapters) {
    const row = rows.find((r) => r.partner === partner) ?? { intents: 0, outcomes: 0, open: 0 };
    expect({
      partner,
      calls: adapter.calls.length,
      intents: row.intents,
      outcomes: row.outcomes,
      open: row.open,
    }).toEqual({
      partner,
      calls: adapter.calls.length,
      intents: adapter.calls.length,
      outcomes: adapter.calls.length,
      open: 0,
    });
  }
  // Nothing failed along the way, so the states above are final, not a retry away from changing.
  const status = await h.gateway.status();
  expect(status.partners.filter((p) => p.retrying + p.deadLetters + p.queued + p.active > 0)).toEqual([]);
}
