import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmulatorRequest, EmulatorResponse, PartnerEmulator } from '../emulator.ts';

export interface ServedEmulator {
  readonly partner: string;
  /** http://127.0.0.1:PORT, no trailing slash. */
  readonly url: string;
  readonly emulator: PartnerEmulator;
  close(): Promise<void>;
}

/** Serves one emulator on a loopback port (0 = any free port). */
export async function serveEmulator(emulator: PartnerEmulator, port = 0): Promise<ServedEmulator> {
  const server: Server = createServer((req, res) => {
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
        .then(() => emulator.handle(request))
        .catch((): EmulatorResponse => ({ status: 500, body: { error: 'emulator failure' } }))
        .then((response) => writeResponse(res, response));
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    partner: emulator.partner,
    url: `http://127.0.0.1:${bound}`,
    emulator,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function writeResponse(res: import('node:http').ServerResponse, response: EmulatorResponse): void {
  const headers: Record<string, string> = { ...(response.headers ?? {}) };
  let body: string | Buffer | undefined;
  if (response.body === undefined) body = undefined;
  else if (typeof response.body === 'string' || Buffer.isBuffer(response.body)) body = response.body;
  else {
    body = JSON.stringify(response.body);
    headers['content-type'] ??= 'application/json';
  }
  res.writeHead(response.status, headers);
  res.end(body);
}
