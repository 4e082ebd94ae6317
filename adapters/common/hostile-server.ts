/**
 * A hostile partner for the adapters' tests: a real node:http server on loopback that answers every
 * request with one chosen misbehaviour (any status, a broken status line, a reset, an off-host
 * redirect, garbage, a huge body, a drip). Every body and header it sends carries CANARY, so a test can
 * tell whether anything from an answer leaked into an error. Imported by tests only.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

// Free text (a space, an @), as an echoed email or message would be: no code filter may pass it.
export const CANARY = 'hostile canary@7f3a';

export type HostileCase =
  | { readonly kind: 'status'; readonly status: number; readonly body: boolean }
  | { readonly kind: 'malformed_status' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'redirect'; readonly status: 301 | 302 | 307 | 308 }
  | { readonly kind: 'garbage'; readonly status: number; readonly body: string; readonly type: string }
  | { readonly kind: 'huge' }
  | { readonly kind: 'drip' };

export const describeCase = (c: HostileCase): string =>
  c.kind === 'status'
    ? `status ${c.status}${c.body ? ' json' : ' empty'}`
    : c.kind === 'redirect'
      ? `redirect ${c.status}`
      : c.kind === 'garbage'
        ? `garbage ${c.status} ${c.body.slice(0, 40)}`
        : c.kind;

/** A JSON body of the shape partners use for errors and objects, with the canary everywhere. */
export const canaryJson = JSON.stringify({
  error: { message: CANARY, code: CANARY, type: CANARY },
  errors: [{ code: CANARY, message: CANARY }],
  title: CANARY,
  detail: CANARY,
  message: CANARY,
});

/** The hostile 2xx bodies: not JSON, JSON of the wrong shape, ids of the wrong format. */
export function garbageBodies(): { readonly body: string; readonly type: string }[] {
  const json = 'application/json';
  const idLike = (id: unknown) => ({
    id,
    sid: id,
    user_id: id,
    email_address: CANARY,
    status: 'subscribed',
    d: [{ id }],
    data: [{ id }],
    object: 'customer',
  });
  return [
    { body: `<html>${CANARY}</html>`, type: 'text/html' },
    { body: `{"id": "${CANARY}"`, type: json },
    { body: JSON.stringify([CANARY]), type: json },
    { body: JSON.stringify(CANARY), type: json },
    { body: 'null', type: json },
    { body: JSON.stringify({ unexpected: CANARY }), type: json },
    { body: JSON.stringify(idLike('..')), type: json },
    { body: JSON.stringify(idLike(`../${CANARY}`)), type: json },
    { body: JSON.stringify(idLike(12345)), type: json },
    { body: JSON.stringify(idLike(`${CANARY}${'x'.repeat(1024 * 1024)}`)), type: json },
  ];
}

export function hostileCases(): HostileCase[] {
  const cases: HostileCase[] = [];
  for (let status = 100; status <= 599; status++) {
    cases.push({ kind: 'status', status, body: true }, { kind: 'status', status, body: false });
  }
  cases.push({ kind: 'malformed_status' }, { kind: 'reset' });
  for (const status of [301, 302, 307, 308] as const) cases.push({ kind: 'redirect', status });
  for (const status of [200, 201, 202, 204, 299]) {
    for (const g of garbageBodies()) cases.push({ kind: 'garbage', status, ...g });
  }
  cases.push({ kind: 'huge' }, { kind: 'drip' });
  return cases;
}

export interface Lane {
  readonly baseUrl: string;
  current: HostileCase;
  /** Requests received so far. */
  requests: number;
  close(): Promise<void>;
}

const listen = (server: Server, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
  });

/** Closes a server and every socket still open on it (drips, huge bodies). */
function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

function track(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  return sockets;
}

/** The redirect target, on another loopback host: it must never receive anything. */
export async function startRedirectTarget(): Promise<{ origin: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method ?? '?'} ${req.url ?? '?'}`);
    res.end('{}');
  });
  const sockets = track(server);
  // 127.0.0.2 is another host on Linux's loopback; where it is not, another port still is another origin.
  let host = '127.0.0.2';
  let port: number;
  try {
    port = await listen(server, host);
  } catch {
    host = '127.0.0.1';
    port = await listen(server, host);
  }
  return { origin: `http://${host}:${port}`, hits, close: closer(server, sockets) };
}

export async function startLane(redirectOrigin: string): Promise<Lane> {
  const lane: { current: HostileCase; requests: number } = { current: { kind: 'reset' }, requests: 0 };
  const server = createServer((req, res) => {
    lane.requests++;
    // The case is read when the request arrives: a call whose requests span a case change sees one case.
    const c = lane.current;
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    req.resume();
    answer(c, req, res, redirectOrigin);
  });
  const sockets = track(server);
  const port = await listen(server, '127.0.0.1');
  const close = closer(server, sockets);
  return Object.assign(lane, { baseUrl: `http://127.0.0.1:${port}`, close });
}

function answer(c: HostileCase, req: IncomingMessage, res: ServerResponse, redirectOrigin: string): void {
  const socket = req.socket;
  const canaryHeaders = { 'x-canary': CANARY, 'retry-after': '999999999', 'request-id': CANARY };
  switch (c.kind) {
    case 'status': {
      if (c.status < 200) {
        // node's server cannot end a response with a 1xx (it is informational by definition): the
        // raw head is written, then the connection closes with no final answer.
        socket.write(`HTTP/1.1 ${c.status} ${CANARY}\r\nX-Canary: ${CANARY}\r\n\r\n`);
        if (c.body) socket.write(canaryJson);
        setTimeout(() => socket.destroy(), 20);
        return;
      }
      const body = c.body ? canaryJson : '';
      res.writeHead(c.status, CANARY, {
        ...canaryHeaders,
        ...(c.body ? { 'content-type': 'application/json' } : {}),
      });
      res.end(body);
      return;
    }
    case 'malformed_status':
      socket.write(`HTTP/1.1 2OO ${CANARY}\r\nContent-Length: 2\r\n\r\n{}`);
      setTimeout(() => socket.destroy(), 20);
      return;
    case 'reset':
      socket.resetAndDestroy();
      return;
    case 'redirect':
      res.writeHead(c.status, { ...canaryHeaders, location: `${redirectOrigin}/${CANARY}${req.url ?? '/'}` });
      res.end(canaryJson);
      return;
    case 'garbage':
      res.writeHead(c.status, { ...canaryHeaders, 'content-type': c.type });
      res.end(c.status === 204 ? undefined : c.body);
      return;
    case 'huge': {
      // 50 MB of one JSON string, streamed as the client reads it.
      res.writeHead(200, { ...canaryHeaders, 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      let sent = 0;
      res.write(`{"id":"${CANARY}`);
      const pump = () => {
        while (sent < 50 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end('"}');
      };
      res.on('close', () => (sent = Infinity));
      pump();
      return;
    }
    case 'drip': {
      res.writeHead(200, { ...canaryHeaders, 'content-type': 'application/json' });
      const body = `{"id":"${CANARY}"}`;
      let i = 0;
      const timer = setInterval(() => {
        if (i >= body.length || res.destroyed) return void (clearInterval(timer), res.end());
        res.write(body[i++]!);
      }, 1000);
      res.on('close', () => clearInterval(timer));
      return;
    }
  }
}
