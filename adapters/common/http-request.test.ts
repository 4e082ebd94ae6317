import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpFailure, sendHttp, type HttpRequest } from './http-request.ts';

// What each path answers: the transport's own cases (the adapters' hostile sweep covers the rest).
const ROUTES: Record<string, (res: ServerResponse, body: string) => void> = {
  '/echo': (res, body) => res.end(JSON.stringify({ body })),
  '/gzip': (res) => res.setHeader('content-encoding', 'gzip').end(gzipSync('{"ok":true}')),
  '/br': (res) => res.setHeader('content-encoding', 'br').end(brotliCompressSync('{"ok":true}')),
  // 64 KB on the wire, 8 MB inflated: the cap counts what is read after decompression.
  '/bomb': (res) => res.setHeader('content-encoding', 'gzip').end(gzipSync(Buffer.alloc(8 * 1024 * 1024))),
  '/redirect': (res) => res.writeHead(302, { location: 'https://elsewhere.example/' }).end(),
  '/silent': () => undefined,
  '/cut': (res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('{"partial":');
    setTimeout(() => res.destroy(), 20);
  },
};

let server: Server;
let base: string;
let hits: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url!);
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => ROUTES[req.url!]!(res, body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const send = (path: string, over: Partial<HttpRequest> = {}) =>
  sendHttp({
    method: 'GET',
    url: new URL(path, base),
    headers: {},
    signal: AbortSignal.timeout(5_000),
    idleTimeoutMs: 5_000,
    maxAnswerBytes: 1024 * 1024,
    ...over,
  });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.fail('resolved'),
    (e: unknown) => (e instanceof HttpFailure ? e.code : `not an HttpFailure: ${String(e)}`),
  );

describe('sendHttp', () => {
  it('sends the body with its length and reads the answer', async () => {
    const answer = await send('/echo', { method: 'POST', body: 'a=1&b=2' });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toEqual({ body: 'a=1&b=2' });
  });

  it('decompresses gzip and brotli answers', async () => {
    expect((await send('/gzip')).body.toString()).toBe('{"ok":true}');
    expect((await send('/br')).body.toString()).toBe('{"ok":true}');
  });

  it('stops reading an answer that inflates past the cap', async () => {
    expect(await failure(send('/bomb'))).toBe('answer_too_large');
  });

  it('answers a redirect as it is and follows nothing', async () => {
    hits = [];
    const answer = await send('/redirect');
    expect(answer.status).toBe(302);
    expect(hits).toEqual(['/redirect']);
  });

  it('fails a silent socket on its idle timer', async () => {
    expect(await failure(send('/silent', { idleTimeoutMs: 100 }))).toBe('ETIMEDOUT');
  });

  it('fails an abort after the request was sent as aborted_in_flight, and one before as aborted', async () => {
    hits = [];
    const late = new AbortController();
    setTimeout(() => late.abort(), 50);
    expect(await failure(send('/silent', { signal: late.signal }))).toBe('aborted_in_flight');
    expect(hits).toEqual(['/silent']);

    // Aborted before the socket connected, and already aborted: the server never sees a request.
    hits = [];
    const early = new AbortController();
    const pending = send('/echo', { method: 'POST', body: 'x', signal: early.signal });
    early.abort();
    expect(await failure(pending)).toBe('aborted');
    expect(await failure(send('/echo', { signal: AbortSignal.abort() }))).toBe('aborted');
    await new Promise((r) => setTimeout(r, 50));
    expect(hits).toEqual([]);
  });

  it('fails an answer cut off mid-body as a reset connection', async () => {
    expect(await failure(send('/cut'))).toBe('ECONNRESET');
  });
});
