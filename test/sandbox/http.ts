import { request, type IncomingHttpHeaders } from 'node:http';

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  json<T = unknown>(): T;
}

export interface CallInit {
  readonly method?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** The client gives up after this long (an error with code 'CLIENT_TIMEOUT'). Default 10 s. */
  readonly timeoutMs?: number;
}

/** One request on its own connection (no agent), so a dropped socket affects only this call. */
export function call(url: string, init: CallInit = {}): Promise<Reply> {
  const body =
    init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: init.method ?? 'GET',
        agent: false,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
        });
      },
    );
    req.setTimeout(init.timeoutMs ?? 10_000, () => {
      req.destroy(Object.assign(new Error('client gave up'), { code: 'CLIENT_TIMEOUT' }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Settles every call, so one failure does not hide how the others ended. */
export function all<T>(calls: readonly Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
  return Promise.allSettled(calls);
}

/** Polls until `check` passes (the sandbox notices a client leaving asynchronously). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
