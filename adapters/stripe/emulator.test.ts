import { describe, expect, it } from 'vitest';
import type { EmulatorRequest } from '../../src/emulator.ts';
import { errorFormatProblems } from '../../test/spec/error-format.ts';
import { createStripeEmulator, IDEMPOTENCY_KEY_TTL_MS } from './emulator.ts';

// Stripe's wire behaviour the sandbox relies on, checked on the emulator directly.
const KEY = 'Bearer sk_test_emulator';
function request(method: string, path: string, form = '', headers: Record<string, string> = {}): EmulatorRequest {
  return {
    method,
    path,
    query: new URLSearchParams(),
    headers: { authorization: KEY, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: Buffer.from(form),
  };
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- emulator bodies are read loosely in these tests
const bodyOf = (r: { body?: unknown }) => r.body as Record<string, any>;

describe('stripe emulator', () => {
  it('wants a test-mode key', async () => {
    const emulator = createStripeEmulator();
    const r = await emulator.handle(request('GET', '/v1/customers/cus_x', '', { authorization: 'Bearer sk_live_x' }));
    expect(r.status).toBe(401);
    expect(bodyOf(r).error.type).toBe('invalid_request_error');
  });

  it('creates cus_ customers from a form body and holds only what was sent', async () => {
    const emulator = createStripeEmulator();
    const r = await emulator.handle(
      request('POST', '/v1/customers', 'name=Ada+Lovelace&metadata%5Bpseudonym%5D=psd_1'),
    );
    expect(r.status).toBe(200);
    const id = bodyOf(r).id as string;
    expect(id).toMatch(/^cus_[A-Za-z0-9]{14}$/);
    expect(bodyOf(r)).toMatchObject({
      object: 'customer',
      name: 'Ada Lovelace',
      email: null,
      metadata: { pseudonym: 'psd_1' },
    });
    expect(emulator.holdings()[id]?.personal).toEqual({ name: 'Ada Lovelace' });
  });

  it('unsets a field, and the whole address, with an empty string', async () => {
    const emulator = createStripeEmulator();
    const created = await emulator.handle(
      request(
        'POST',
        '/v1/customers',
        'name=A&phone=%2B46700000000&address%5Bline1%5D=Gatan+1&address%5Bcountry%5D=SE',
      ),
    );
    const id = bodyOf(created).id as string;
    const r = await emulator.handle(request('POST', `/v1/customers/${id}`, 'phone=&address='));
    expect(bodyOf(r)).toMatchObject({ name: 'A', phone: null, address: null });
    expect(emulator.holdings()[id]?.personal).toEqual({ name: 'A' });
    const bad = await emulator.handle(request('POST', `/v1/customers/${id}`, 'address=Gatan+1'));
    expect(bad.status).toBe(400);
    expect(bodyOf(bad).error).toMatchObject({ type: 'invalid_request_error', param: 'address' });
  });

  it('rejects an unknown parameter the way Stripe does', async () => {
    const r = await createStripeEmulator().handle(request('POST', '/v1/customers', 'nmae=x'));
    expect(r.status).toBe(400);
    expect(bodyOf(r).error).toMatchObject({ type: 'invalid_request_error', code: 'parameter_unknown', param: 'nmae' });
  });

  it('replays an idempotent request and refuses the key with other parameters', async () => {
    const emulator = createStripeEmulator();
    const key = { 'idempotency-key': 'k1' };
    const first = await emulator.handle(request('POST', '/v1/customers', 'name=A', key));
    const again = await emulator.handle(request('POST', '/v1/customers', 'name=A', key));
    expect(bodyOf(again)).toEqual(bodyOf(first));
    expect(again.headers?.['idempotent-replayed']).toBe('true');
    const other = await emulator.handle(request('POST', '/v1/customers', 'name=B', key));
    expect(other.status).toBe(400);
    expect(bodyOf(other).error.type).toBe('idempotency_error');
    expect(Object.keys(emulator.holdings())).toHaveLength(1);
  });

  it('forgets a key after 24 hours: the same key then makes a new customer', async () => {
    let clock = Date.parse('2026-03-10T12:00:00Z');
    const emulator = createStripeEmulator({ now: () => clock });
    const key = { 'idempotency-key': 'k24' };
    const first = await emulator.handle(request('POST', '/v1/customers', 'name=A', key));
    clock += IDEMPOTENCY_KEY_TTL_MS - 1;
    const replay = await emulator.handle(request('POST', '/v1/customers', 'name=A', key));
    expect(bodyOf(replay).id).toBe(bodyOf(first).id);
    clock += 1;
    const fresh = await emulator.handle(request('POST', '/v1/customers', 'name=A', key));
    expect(fresh.headers?.['idempotent-replayed']).toBeUndefined();
    expect(bodyOf(fresh).id).not.toBe(bodyOf(first).id);
    expect(Object.keys(emulator.holdings())).toHaveLength(2);
  });

  it('deletes with deleted: true, then answers 404 to a delete and a deleted stub to a retrieve', async () => {
    const emulator = createStripeEmulator();
    const id = bodyOf(await emulator.handle(request('POST', '/v1/customers', 'name=A'))).id as string;
    const del = await emulator.handle(request('DELETE', `/v1/customers/${id}`));
    expect(bodyOf(del)).toEqual({ id, object: 'customer', deleted: true });
    const again = await emulator.handle(request('DELETE', `/v1/customers/${id}`));
    expect(again.status).toBe(404);
    expect(bodyOf(again).error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing' });
    expect(bodyOf(await emulator.handle(request('GET', `/v1/customers/${id}`)))).toEqual({
      id,
      object: 'customer',
      deleted: true,
    });
    expect(emulator.holdings()).toEqual({});
  });

  it("rate limits with Stripe's 429", () => {
    const r = createStripeEmulator().rateLimited(2);
    expect(r.status).toBe(429);
    expect(r.headers?.['retry-after']).toBe('2');
    expect(bodyOf(r).error).toMatchObject({ type: 'invalid_request_error', code: 'rate_limit' });
    expect(createStripeEmulator().limits.perSecond).toBe(25);
  });

  describe("refuses what Stripe refuses (test/fixtures/partner-specs/stripe.json and Stripe's metadata limits)", () => {
    const refused = async (form: string, param: string, path = '/v1/customers') => {
      const emulator = createStripeEmulator();
      const r = await emulator.handle(request('POST', path, form));
      expect(r).toMatchObject({ status: 400, body: { error: { type: 'invalid_request_error', param } } });
      expect(errorFormatProblems('stripe', r)).toEqual([]);
      expect(emulator.holdings()).toEqual({});
    };

    it('a string longer than its parameter allows', async () => {
      await refused(`name=${'n'.repeat(257)}`, 'name');
      await refused(`phone=${'1'.repeat(21)}`, 'phone');
      await refused(`email=${'e'.repeat(513)}`, 'email');
      await refused(`address%5Bcity%5D=${'c'.repeat(5001)}`, 'address[city]');
      const emulator = createStripeEmulator();
      expect((await emulator.handle(request('POST', '/v1/customers', `name=${'n'.repeat(256)}`))).status).toBe(200);
    });

    it('metadata beyond 50 keys, keys over 40 characters, values over 500', async () => {
      const many = Array.from({ length: 51 }, (_, i) => `metadata%5Bk${i}%5D=v`).join('&');
      await refused(many, 'metadata');
      await refused(`metadata%5B${'k'.repeat(41)}%5D=v`, 'metadata');
      await refused(`metadata%5Bk%5D=${'v'.repeat(501)}`, 'metadata');
    });

    it('an unknown nested parameter, named as sent; metadata= unsets every key as Stripe does', async () => {
      await refused('address%5Bstreet%5D=x', 'address[street]');
      const emulator = createStripeEmulator();
      const id = bodyOf(await emulator.handle(request('POST', '/v1/customers', 'metadata%5Ba%5D=1&metadata%5Bb%5D=2')))
        .id as string;
      expect(bodyOf(await emulator.handle(request('POST', `/v1/customers/${id}`, 'metadata=')))).toMatchObject({
        metadata: {},
      });
    });
  });
});
