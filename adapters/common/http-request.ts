/**
 * One HTTP request on Node's own http and https modules, with the few things the adapters need and
 * nothing else: a body cap counted after decompression, an idle timer on the socket, the caller's
 * abort signal, and no redirect (node:http never follows one). rest-client.ts builds on it.
 *
 * Why not axios (which the REST adapters used before): the adapters ask for one pinned origin, a
 * capped body and no redirect, and axios spent 0.15-0.19 CPU-ms per request where node:http spent
 * 0.05-0.06 on the same requests (client and a local server in one process; configuration merging,
 * header objects and its transforms). In the benchmark's overhead workload (bench 1a, PostgreSQL) the
 * gateway process went from 0.52 to 0.40 CPU-ms per job with this.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createBrotliDecompress, createUnzip } from 'node:zlib';
import type { Readable } from 'node:stream';

export interface HttpRequest {
  readonly method: string;
  readonly url: URL;
  /** Sent as given; Content-Length is set from the body. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array | undefined;
  /** Aborts the request wherever it is (connecting, sending, reading). */
  readonly signal: AbortSignal;
  /** The socket may stay silent this long before the request fails as ETIMEDOUT. */
  readonly idleTimeoutMs: number;
  /** The largest body read, after decompression; a larger one fails as answer_too_large. */
  readonly maxAnswerBytes: number;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

/**
 * Why a request got no answer: a Node error code (ECONNRESET), or one this module makes: `aborted`
 * (the signal fired before the whole request was handed to the socket, so the partner cannot have
 * acted on it), `aborted_in_flight` (it fired after: the partner may have), `answer_too_large`.
 */
export class HttpFailure extends Error {
  readonly code: string;
  constructor(code: string) {
    // The code only: Node's messages can carry the host and the path.
    super(`HTTP request failed (${code})`);
    this.name = 'HttpFailure';
    this.code = code;
  }
}

const failureOf = (error: unknown, signal: AbortSignal, sent: boolean): HttpFailure => {
  // Whatever the socket said once the caller gave up (a reset, a cut body) is the abort's doing.
  if (signal.aborted) return new HttpFailure(sent ? 'aborted_in_flight' : 'aborted');
  if (error instanceof HttpFailure) return error;
  const code = (error as { code?: unknown })?.code;
  return new HttpFailure(typeof code === 'string' ? code : 'unknown_error');
};

export function sendHttp(req: HttpRequest): Promise<HttpAnswer> {
  const send = req.url.protocol === 'https:' ? httpsRequest : httpRequest;
  const body = req.body === undefined ? undefined : Buffer.from(req.body);
  return new Promise<HttpAnswer>((resolve, reject) => {
    if (req.signal.aborted) return reject(new HttpFailure('aborted'));
    let settled = false;
    // 'finish': the whole request is with the socket. Before it the partner holds at most part of
    // a request (its Content-Length says so), which no server acts on.
    let sent = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      request.destroy();
      reject(failureOf(error, req.signal, sent));
    };
    const request = send(
      req.url,
      {
        method: req.method,
        headers: body ? { ...req.headers, 'content-length': String(body.length) } : req.headers,
        signal: req.signal,
        timeout: req.idleTimeoutMs,
      },
      (response) => {
        readBody(response, req.method, req.maxAnswerBytes).then((buffer) => {
          if (settled) return;
          settled = true;
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: buffer });
        }, fail);
      },
    );
    request.on('finish', () => {
      sent = true;
    });
    request.on('timeout', () => fail(new HttpFailure('ETIMEDOUT')));
    request.on('error', fail);
    request.end(body);
  });
}

/** The whole body, decompressed, or a failure once it grows past the cap. */
function readBody(response: IncomingMessage, method: string, max: number): Promise<Buffer> {
  const encoding = String(response.headers['content-encoding'] ?? '').toLowerCase();
  const empty = method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304;
  let stream: Readable = response;
  if (!empty && (encoding === 'gzip' || encoding === 'x-gzip' || encoding === 'deflate')) {
    stream = response.pipe(createUnzip());
  } else if (!empty && encoding === 'br') stream = response.pipe(createBrotliDecompress());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (error: unknown) => {
      response.destroy();
      if (stream !== response) stream.destroy();
      reject(error);
    };
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) stop(new HttpFailure('answer_too_large'));
      else chunks.push(chunk);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks, size)));
    stream.on('error', stop);
    // A connection that closes mid-body ends the response as aborted, not with an error.
    response.on('aborted', () => stop(new HttpFailure('ECONNRESET')));
    if (stream !== response) response.on('error', stop);
  });
}
