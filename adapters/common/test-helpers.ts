/**
 * Small helpers for the adapters' nock-based tests: generic test plumbing, no partner API knowledge.
 * Imported by tests only.
 */
import { isDeepStrictEqual } from 'node:util';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { PartnerError } from '../../src/adapter.ts';

/**
 * No test reaches the network: nock intercepts every request, and its mocks are dropped after each
 * test. Strict: each test also fails when one of its mocks went unused (nock.pendingMocks) or a
 * request matched none ('no match', which nock 15 answers with a 501 an SDK may even retry), so a
 * test asserts exactly the requests it expects, in every test, without checking scopes by hand.
 * `allowLoopback` lets a suite also talk to a local test server on 127.0.0.1.
 */
export function interceptHttp({ allowLoopback = false }: { allowLoopback?: boolean } = {}): void {
  const unmatched: string[] = [];
  // Method and host only: a path can carry an id or a query value.
  const countUnmatched = (req: { method?: string; hostname?: string; host?: string }) =>
    unmatched.push(`${req.method ?? '?'} ${req.hostname ?? req.host ?? '?'}`);
  beforeAll(() => {
    nock.disableNetConnect();
    if (allowLoopback) nock.enableNetConnect('127.0.0.1');
    nock.emitter.on('no match', countUnmatched);
  });
  afterEach(() => {
    const pending = nock.pendingMocks();
    const misses = unmatched.splice(0);
    nock.cleanAll();
    expect(pending, 'mocks the test set up but no request used').toEqual([]);
    expect(misses, 'requests no mock matched').toEqual([]);
  });
  afterAll(() => {
    nock.emitter.removeListener('no match', countUnmatched);
    nock.enableNetConnect();
  });
}

/** nock compares the whole parsed body: any extra field fails the match. */
export const exactly = (expected: unknown) => (body: unknown) => isDeepStrictEqual(body, expected);

/**
 * An Error with a Node error code, for nock's replyWithError: nock 15 never delivers a plain-object
 * replyWithError (the request hangs), so it must be an Error.
 */
export const netError = (code: string, message: string) => Object.assign(new Error(message), { code });

export interface CanaryCheck {
  /** 'message': the error's message; 'everywhere': also its JSON and stack, all a log line could carry. */
  readonly where: 'message' | 'everywhere';
  readonly ignoreCase?: boolean;
}

/** Canaries are unique strings from a test's personal data: if one shows up in the text, it leaked. */
export function expectNoCanary(text: string, canaries: Iterable<string>, { ignoreCase = false } = {}): void {
  for (const canary of canaries) {
    if (ignoreCase) expect(text.toLowerCase()).not.toContain(canary.toLowerCase());
    else expect(text).not.toContain(canary);
  }
}

/** The call must fail with a PartnerError that carries none of the canaries; returns that error. */
export async function expectPartnerFailure(
  pending: Promise<unknown>,
  canaries: Iterable<string>,
  { where, ignoreCase = false }: CanaryCheck,
): Promise<PartnerError> {
  const err: unknown = await pending.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PartnerError);
  const text =
    where === 'message'
      ? (err as PartnerError).message
      : `${String(err)} ${JSON.stringify(err)} ${(err as Error).stack ?? ''}`;
  expectNoCanary(text, canaries, { ignoreCase });
  return err as PartnerError;
}
