import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartnerError } from '../../src/adapter.ts';
import { createRestClient } from './rest-client.ts';

let server: Server;
let base: string;
let received: number[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    let size = 0;
    req.on('data', (c: Buffer) => (size += c.length));
    req.on('end', () => {
      received.push(size);
      res.setHeader('content-type', 'application/json').end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const ctx = { correlationId: 'corr-1', idempotencyKey: 'idem-1' };
const client = () => createRestClient({ partner: 'example', baseUrl: base, headers: {}, errorCode: () => undefined });

describe('the REST client', () => {
  it('refuses a body over 1 MB before sending anything, as a permanent request_too_large', async () => {
    received = [];
    const big = { members: 'x'.repeat(1024 * 1024) };
    const error = await client()
      .send('upsert', { method: 'post', url: '/members', data: big }, ctx)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartnerError);
    expect(error).toMatchObject({ kind: 'permanent', code: 'request_too_large', partner: 'example' });
    expect((error as Error).message).not.toContain('xxxx');
    expect(received).toEqual([]);

    // Just under the cap goes out whole.
    const under = 'y'.repeat(1024 * 1024 - 100);
    const answer = await client().send('upsert', { method: 'post', url: '/members', data: under }, ctx);
    expect(answer).toMatchObject({ status: 200, data: { ok: true } });
    expect(received).toEqual([under.length]);
  });
});
