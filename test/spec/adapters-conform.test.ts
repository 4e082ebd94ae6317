/**
 * Every operation the adapters use, driven through the real adapters against the emulators, with
 * the spec check on: each request must be one its partner's published API definition allows, and
 * between them the adapters must reach every operation of the extracts (33: the 30 of the six
 * partners with a published definition, and E-logistik's 3).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext, PartnerAdapter, UpsertInput } from '../../src/adapter.ts';
import { startTestPartners, type TestPartners } from '../../src/testing/index.ts';
import type { Auth0Emulator } from '../../adapters/auth0/index.ts';
import type { ResinEmulator } from '../../adapters/resin/emulator.ts';
import { operationName, partnerSpec, SPEC_PARTNERS } from './partner-specs.ts';
import { installSpecCheck } from './spec-check.ts';

const check = installSpecCheck();
const ctx = (key: string): CallContext => ({ correlationId: `conform-${key}`, idempotencyKey: `conform-${key}` });
const name = { given: 'Ada', family: 'Lovelace' };
const address = { street: 'Storgatan 1', postalCode: '111 22', city: 'Stockholm', country: 'SE' };
const upsert = (payload: UpsertInput['payload'], partnerIds: string[] = [], extra: Partial<UpsertInput> = {}) => ({
  payload,
  ref: { pseudonym: 'psd-conform-1', partnerIds },
  ...extra,
});

let partners: TestPartners;
const adapter = (partner: string): PartnerAdapter => partners.adapter(partner);

beforeAll(async () => {
  partners = await startTestPartners();
  check.take();
});
afterAll(() => partners.stop());

describe('every operation the adapters use, as their partners define it', () => {
  it('E-logistik: put, get, delete', async () => {
    const a = adapter('elogistik');
    const { partnerId } = await a.upsert!(
      upsert({ name, address, phone: '+46701234567', email: 'a@example.test' }),
      ctx('e1'),
    );
    await a.fetch!({ pseudonym: 'psd-conform-1', partnerIds: [partnerId] }, ctx('e2'));
    await a.erase({ pseudonym: 'psd-conform-1', partnerIds: [partnerId] }, 'delete', ctx('e3'));
  });

  it('Mailchimp: consent grant, plain update, address change, batch, withdrawal, unsubscribed list, fetch, archive, delete', async () => {
    const a = adapter('mailchimp');
    const first = await a.upsert!(
      upsert({ name, email: 'ada@example.test' }, [], { subscription: 'subscribed' }),
      ctx('m1'),
    );
    await a.upsert!(upsert({ email: 'ada@example.test' }, [first.partnerId], { cleared: ['name.given'] }), ctx('m2'));
    const moved = await a.upsert!(upsert({ name, email: 'ada.l@example.test' }, [first.partnerId]), ctx('m3'));
    await a.upsertBatch!(
      [
        upsert({ name, email: 'b@example.test' }, [], { subscription: 'subscribed' }),
        upsert({ email: 'c@example.test' }, [], { subscription: 'subscribed' }),
      ],
      ctx('m4'),
    );
    const ref = { pseudonym: 'psd-conform-1', partnerIds: [moved.partnerId] };
    await a.suppress!(ref, ctx('m5'));
    expect(await a.unsubscribedSince!(new Date(Date.now() - 60_000), ctx('m5a'))).toEqual([moved.partnerId]);
    await a.fetch!(ref, ctx('m6'));
    await a.erase(ref, 'archive', ctx('m7'));
    await a.erase(ref, 'delete', ctx('m8'));
  });

  it('Stripe: create, update with a cleared field, retrieve, delete', async () => {
    const a = adapter('stripe');
    const { partnerId } = await a.upsert!(upsert({ name }), ctx('s1'));
    await a.upsert!(upsert({ name: { given: 'Ada', family: 'King' } }, [partnerId], { cleared: ['email'] }), ctx('s2'));
    const ref = { pseudonym: 'psd-conform-1', partnerIds: [partnerId] };
    await a.fetch!(ref, ctx('s3'));
    await a.erase(ref, 'delete', ctx('s4'));
  });

  it('Intercom: create, a create that finds the contact by external id, update, show, archive, unarchive, delete', async () => {
    const a = adapter('intercom');
    const payload = { name, email: 'ada@example.test', phone: '+46701234567' };
    const { partnerId } = await a.upsert!(upsert(payload), ctx('i1'));
    // No id known and the external id taken: Intercom answers 409, the adapter finds the contact.
    await a.upsert!(upsert({ ...payload, phone: undefined }, [], { cleared: ['phone'] }), ctx('i2'));
    const ref = { pseudonym: 'psd-conform-1', partnerIds: [partnerId] };
    await a.fetch!(ref, ctx('i3'));
    // A restriction archives the contact and its end unarchives it.
    await a.restrict!(ref, ctx('i3a'));
    await a.unrestrict!(ref, ctx('i3b'));
    await a.erase(ref, 'archive', ctx('i4'));
    await a.erase(ref, 'delete', ctx('i5'));
  });

  it('Twilio: a call, a lost answer looked up by number, fetch, delete', async () => {
    const a = adapter('twilio');
    const input = (partnerIds: string[]) => ({
      action: 'alarm',
      payload: { phone: '+46701234567' },
      ref: { pseudonym: 'psd-conform-1', partnerIds },
      params: { twiml: '<Response><Say>Alarm</Say></Response>' },
    });
    const first = await a.act!(input([]), ctx('t1'));
    // The call is placed but its answer lost: the adapter lists the calls to the number to find it.
    partners.setFaults({ twilio: { dropRate: 1, afterHandling: true } });
    const lost = await a.act!(input([first.partnerId]), ctx('t2')).catch((err: unknown) => err);
    partners.setFaults({});
    const sids = [
      first.partnerId,
      ...(lost && typeof lost === 'object' && 'partnerId' in lost ? [String(lost.partnerId)] : []),
    ];
    const ref = { pseudonym: 'psd-conform-1', partnerIds: sids };
    await a.fetch!(ref, ctx('t3'));
    await a.erase(ref, 'delete', ctx('t4'));
  });

  it('Auth0: token, create, a create that finds the user by email, update, get, delete', async () => {
    const a = adapter('auth0');
    partners.emulator<Auth0Emulator>('auth0').seedUser({ user_id: 'auth0|seeded01', email: 'taken@example.test' });
    const { partnerId } = await a.upsert!(upsert({ name, email: 'ada@example.test' }), ctx('a1'));
    await a.upsert!(upsert({ name, email: 'taken@example.test' }), ctx('a2'));
    await a.upsert!(upsert({ email: 'ada@example.test' }, [partnerId], { cleared: ['name.given'] }), ctx('a3'));
    const ref = { pseudonym: 'psd-conform-1', partnerIds: [partnerId] };
    await a.fetch!(ref, ctx('a4'));
    await a.erase(ref, 'delete', ctx('a5'));
  });

  it('balena: read the devices, remove them', async () => {
    const a = adapter('resin');
    const device = partners.emulator<ResinEmulator>('resin').seedDevice({ ip_address: '10.0.0.2' });
    const ref = { pseudonym: 'psd-conform-1', partnerIds: [String(device.id)] };
    await a.fetch!(ref, ctx('r1'));
    await a.erase(ref, 'delete', ctx('r2'));
  });

  it('sent nothing any partner’s definition refuses, and reached every operation of the extracts', () => {
    expect(check.take()).toEqual([]);
    const all = SPEC_PARTNERS.flatMap((p) => partnerSpec(p)!.operations.map((op) => `${p} ${operationName(op)}`));
    expect(all).toHaveLength(33);
    expect(all.filter((op) => !check.seen().has(op))).toEqual([]);
  });
});
