import { describe, expect, it } from 'vitest';
import type { EmulatorRequest } from '../../src/emulator.ts';
import { errorFormatProblems } from '../../test/spec/error-format.ts';
import { createIntercomEmulator, INTERCOM_SANDBOX_TOKEN } from './emulator.ts';

const good = { authorization: `Bearer ${INTERCOM_SANDBOX_TOKEN}`, 'intercom-version': '2.14' };
function req(method: string, path: string, body?: unknown, headers: Record<string, string> = good): EmulatorRequest {
  return {
    method,
    path,
    query: new URLSearchParams(),
    headers,
    body: Buffer.from(body === undefined ? '' : JSON.stringify(body)),
  };
}

describe('intercom emulator fidelity', () => {
  it('answers 401 in the error.list shape, and 400 without Intercom-Version', async () => {
    const emulator = createIntercomEmulator();
    expect(await emulator.handle(req('GET', '/contacts/1', undefined, { 'intercom-version': '2.14' }))).toMatchObject({
      status: 401,
      body: { type: 'error.list', errors: [{ code: 'unauthorized', message: expect.any(String) }] },
    });
    expect(
      await emulator.handle(req('GET', '/contacts/1', undefined, { authorization: good.authorization })),
    ).toMatchObject({
      status: 400,
      body: { type: 'error.list', errors: [{ code: 'intercom_version_invalid' }] },
    });
  });

  it('409s a duplicate external_id and rejects unknown parameters', async () => {
    const emulator = createIntercomEmulator();
    const first = await emulator.handle(req('POST', '/contacts', { role: 'user', external_id: 'p1' }));
    expect(first).toMatchObject({ status: 200, body: { type: 'contact', external_id: 'p1', role: 'user' } });
    expect(await emulator.handle(req('POST', '/contacts', { role: 'user', external_id: 'p1' }))).toMatchObject({
      status: 409,
      body: { type: 'error.list', errors: [{ code: 'conflict' }] },
    });
    expect(await emulator.handle(req('POST', '/contacts', { role: 'user', customer_id: 'x' }))).toMatchObject({
      status: 400,
      body: { errors: [{ code: 'parameter_invalid' }] },
    });
  });

  it('archives and unarchives a contact (contact_archived / contact_unarchived), 404 for an unknown one', async () => {
    const emulator = createIntercomEmulator();
    const { body } = await emulator.handle(req('POST', '/contacts', { role: 'user', external_id: 'p1' }));
    const id = (body as { id: string }).id;
    expect(await emulator.handle(req('POST', `/contacts/${id}/archive`))).toMatchObject({
      status: 200,
      body: { id, external_id: 'p1', type: 'contact', archived: true },
    });
    expect(Object.values(emulator.holdings())[0]!.meta.archived).toBe(true);
    expect(await emulator.handle(req('POST', `/contacts/${id}/unarchive`))).toMatchObject({
      status: 200,
      body: { id, type: 'contact', archived: false },
    });
    expect(Object.values(emulator.holdings())[0]!.meta.archived).toBe(false);
    expect(await emulator.handle(req('POST', '/contacts/ffff/unarchive'))).toMatchObject({
      status: 404,
      body: { errors: [{ code: 'not_found' }] },
    });
  });

  it('deletes with the deleted-contact answer, then 404s', async () => {
    const emulator = createIntercomEmulator();
    const { body } = await emulator.handle(
      req('POST', '/contacts', { role: 'user', external_id: 'p1', email: 'a@example.test' }),
    );
    const id = (body as { id: string }).id;
    expect(await emulator.handle(req('GET', '/contacts/find_by_external_id/p1'))).toMatchObject({
      status: 200,
      body: { id },
    });
    expect(await emulator.handle(req('DELETE', `/contacts/${id}`))).toEqual({
      status: 200,
      body: { id, external_id: 'p1', type: 'contact', deleted: true },
    });
    expect(await emulator.handle(req('DELETE', `/contacts/${id}`))).toMatchObject({
      status: 404,
      body: { errors: [{ code: 'not_found' }] },
    });
    expect(emulator.holdings()).toEqual({});
  });

  it('rate-limits with X-RateLimit headers and Retry-After', () => {
    const limited = createIntercomEmulator().rateLimited(4);
    expect(limited).toMatchObject({
      status: 429,
      headers: { 'retry-after': '4', 'x-ratelimit-limit': '1667', 'x-ratelimit-remaining': '0' },
      body: { type: 'error.list', errors: [{ code: 'rate_limit_exceeded' }] },
    });
    expect(Number(limited.headers?.['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
    expect(createIntercomEmulator().limits).toEqual({ window: { ms: 10_000, max: 1667 } });
  });

  describe('refuses what Intercom 2.14 refuses (test/fixtures/partner-specs/intercom.json)', () => {
    const created = async () => {
      const emulator = createIntercomEmulator();
      const res = await emulator.handle(
        req('POST', '/contacts', { role: 'user', external_id: 'p1', email: 'a@example.test' }),
      );
      return { emulator, id: (res.body as { id: string }).id };
    };
    const refusedFor = async (res: ReturnType<ReturnType<typeof createIntercomEmulator>['handle']>, field: string) => {
      const answer = await res;
      expect(answer).toMatchObject({
        status: 400,
        body: { type: 'error.list', errors: [{ code: 'parameter_invalid', field }] },
      });
      expect(errorFormatProblems('intercom', answer)).toEqual([]);
    };

    it('email: null does not wipe an address (email is not nullable); phone and name may be null', async () => {
      const { emulator, id } = await created();
      await refusedFor(emulator.handle(req('PUT', `/contacts/${id}`, { email: null })), 'email');
      expect(emulator.holdings()[id]?.personal).toEqual({ email: 'a@example.test' });
      await emulator.handle(req('PUT', `/contacts/${id}`, { name: 'A B', phone: '+46701234567' }));
      expect(await emulator.handle(req('PUT', `/contacts/${id}`, { name: null, phone: null }))).toMatchObject({
        status: 200,
      });
      expect(emulator.holdings()[id]?.personal).toEqual({ email: 'a@example.test' });
    });

    it('nor on create; external_id and role cannot be null either', async () => {
      const emulator = createIntercomEmulator();
      await refusedFor(emulator.handle(req('POST', '/contacts', { external_id: 'p1', email: null })), 'email');
      await refusedFor(emulator.handle(req('POST', '/contacts', { role: 'user', external_id: null })), 'external_id');
      expect(emulator.holdings()).toEqual({});
      const { emulator: other, id } = await created();
      await refusedFor(other.handle(req('PUT', `/contacts/${id}`, { role: null })), 'role');
    });

    it('attributes of the wrong type: timestamps and owner ids are integers, the rest as the spec types them', async () => {
      const { emulator, id } = await created();
      await refusedFor(emulator.handle(req('PUT', `/contacts/${id}`, { signed_up_at: '2026-01-01' })), 'signed_up_at');
      await refusedFor(emulator.handle(req('PUT', `/contacts/${id}`, { owner_id: 1.5 })), 'owner_id');
      await refusedFor(
        emulator.handle(req('PUT', `/contacts/${id}`, { unsubscribed_from_emails: 'yes' })),
        'unsubscribed_from_emails',
      );
      await refusedFor(
        emulator.handle(req('PUT', `/contacts/${id}`, { custom_attributes: ['x'] })),
        'custom_attributes',
      );
      const fine = {
        signed_up_at: 1571672154,
        owner_id: null,
        unsubscribed_from_emails: true,
        custom_attributes: { plan: 'x' },
      };
      expect(await emulator.handle(req('PUT', `/contacts/${id}`, fine))).toMatchObject({ status: 200 });
    });
  });
});
