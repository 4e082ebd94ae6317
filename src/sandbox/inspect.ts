import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Holding } from '../emulator.ts';
import type { FaultSpec } from './faults.ts';
import { parseSince, type RequestLogEntry } from './request-log.ts';
import { closeServer } from './serve.ts';
import type { PartnerStats } from './stats.ts';

export interface PartnerInfo {
  readonly partner: string;
  readonly url: string;
  /** The emulator's documented limits; `counts` says whether only some requests count. */
  readonly limits: {
    readonly perSecond?: number;
    readonly window?: { readonly ms: number; readonly max: number };
    readonly maxConcurrent?: number;
    readonly counts: 'all' | 'filtered';
  };
  readonly limitsEnforced: boolean;
  readonly faults: FaultSpec;
  readonly counts: { readonly requests: number; readonly inFlight: number; readonly holdings: number };
}

/** What inspection reads; the sandbox object offers the same for in-process use. */
export interface Inspectable {
  partners(): PartnerInfo[];
  holdings(partner: string): Record<string, Holding>;
  requests(partner: string, since?: number | Date): RequestLogEntry[];
  stats(): Record<string, PartnerStats>;
  reset(): void;
}

export interface InspectionServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves inspection on its own loopback port, apart from the partners' ports the SDKs talk to. */
export async function serveInspection(source: Inspectable, port = 0): Promise<InspectionServer> {
  let bound = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('error', () => undefined);
    req.on('end', () => {
      try {
        route(source, req, res, bound);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        send(res, 500, { error: message });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  bound = address.port;
  return { url: `http://${address.address}:${bound}`, close: () => closeServer(server) };
}

function route(source: Inspectable, req: IncomingMessage, res: ServerResponse, port: number): void {
  // Holdings are test subjects' data and POST /reset wipes state: refuse what a web page could send
  // through DNS rebinding (a foreign Host) or from another site (a foreign Origin).
  if (!isLoopbackHost(req.headers.host, port))
    return send(res, 403, { error: 'inspection answers loopback hosts only' });
  const origin = req.headers.origin;
  if (origin !== undefined) {
    if (!isLoopbackOrigin(origin)) return send(res, 403, { error: 'inspection answers loopback origins only' });
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'origin');
  }

  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = req.method ?? 'GET';
  const parts = url.pathname.split('/').filter((part) => part !== '');
  const partners = new Set(source.partners().map((info) => info.partner));

  if (parts.length === 1 && parts[0] === 'partners') {
    return method === 'GET' ? send(res, 200, source.partners()) : notAllowed(res, 'GET');
  }
  if (parts.length === 1 && parts[0] === 'stats') {
    return method === 'GET' ? send(res, 200, source.stats()) : notAllowed(res, 'GET');
  }
  if (parts.length === 1 && parts[0] === 'reset') {
    if (method !== 'POST') return notAllowed(res, 'POST');
    source.reset();
    return send(res, 200, { reset: true });
  }
  if (parts.length === 3 && parts[0] === 'partners') {
    const partner = safeDecode(parts[1] ?? '');
    if (!partners.has(partner)) return send(res, 404, { error: `no partner '${partner}'`, partners: [...partners] });
    if (method !== 'GET') return notAllowed(res, 'GET');
    if (parts[2] === 'holdings') return send(res, 200, source.holdings(partner));
    if (parts[2] === 'requests') {
      const since = parseSince(url.searchParams.get('since'));
      if (since instanceof Error) return send(res, 400, { error: since.message });
      return send(res, 200, source.requests(partner, since));
    }
  }
  return send(res, 404, {
    error: 'not found',
    routes: [
      'GET /partners',
      'GET /partners/{p}/holdings',
      'GET /partners/{p}/requests?since=',
      'GET /stats',
      'POST /reset',
    ],
  });
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function isLoopbackHost(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    const { protocol, hostname } = new URL(origin);
    return protocol === 'http:' && (hostname === '127.0.0.1' || hostname === 'localhost');
  } catch {
    return false;
  }
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  send(res, 405, { error: `use ${allow}` });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
