import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmulatorRequest, EmulatorResponse, PartnerEmulator } from '../emulator.ts';
import { notifyRequest, notifyResponse } from './exchange-observers.ts';

export interface ServedEmulator {
  readonly partner: string;
  /** http://127.0.0.1:PORT, no trailing slash. */
  readonly url: string;
  readonly emulator: PartnerEmulator;
  close(): Promise<void>;
}

/** What to do with one request: answer it, or destroy the socket without an answer. */
export type Disposition = { readonly kind: 'respond'; readonly response: EmulatorResponse } | { readonly kind: 'drop' };

export interface Exchange {
  /**
   * Aborted when the client goes away before it has an answer (it gave up, or the server is
   * closing), so a handler that holds a request or waits can stop waiting.
   */
  readonly signal: AbortSignal;
}

export interface ServeOptions {
  /**
   * Decides each request instead of a direct call of emulator.handle: the sandbox puts its limits,
   * faults and request log here. An answer that never resolves holds the socket until `signal` aborts.
   */
  readonly handle?: (request: EmulatorRequest, exchange: Exchange) => Promise<Disposition>;
}

const EMULATOR_FAILURE: EmulatorResponse = { status: 500, body: { error: 'emulator failure' } };

/** Serves one emulator on a loopback port (0 = any free port). */
export async function serveEmulator(
  emulator: PartnerEmulator,
  port = 0,
  options: ServeOptions = {},
): Promise<ServedEmulator> {
  // A lane (options.handle) reports to the exchange observers itself; a bare emulator is reported here.
  const decide =
    options.handle ??
    (async (request: EmulatorRequest): Promise<Disposition> => {
      notifyRequest(emulator.partner, request);
      let response: EmulatorResponse | undefined;
      try {
        response = await emulator.handle(request);
        return { kind: 'respond', response };
      } finally {
        notifyResponse(emulator.partner, request, response);
      }
    });

  const server: Server = createServer((req, res) => {
    const abort = new AbortController();
    // 'close' also follows a finished response; only a close before the end means the client left.
    res.on('close', () => {
      if (!res.writableEnded) abort.abort();
    });
    // A client that resets mid-body must not become an unhandled 'error' event.
    req.on('error', () => undefined);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const request: EmulatorRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      Promise.resolve()
        .then(() => decide(request, { signal: abort.signal }))
        .catch((): Disposition => ({ kind: 'respond', response: EMULATOR_FAILURE }))
        .then((disposition) => {
          if (res.destroyed) return;
          if (disposition.kind === 'drop') res.destroy();
          else writeResponse(res, disposition.response);
        })
        // An emulator answer Node refuses to write (a bad header) must not take the process down.
        .catch(() => res.destroy());
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port: bound } = server.address() as AddressInfo;
  return {
    partner: emulator.partner,
    url: `http://${address}:${bound}`,
    emulator,
    close: () => closeServer(server),
  };
}

/** Closes a server without waiting for kept-alive or held connections to end on their own. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export function writeResponse(res: ServerResponse, response: EmulatorResponse): void {
  const headers: Record<string, string> = { ...(response.headers ?? {}) };
  let body: string | Buffer | undefined;
  if (response.body === undefined) body = undefined;
  else if (typeof response.body === 'string' || Buffer.isBuffer(response.body)) body = response.body;
  else {
    body = JSON.stringify(response.body);
    // Emulators may spell it Content-Type; a second copy would be sent as a separate header.
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
  }
  res.writeHead(response.status, headers);
  res.end(body);
}
