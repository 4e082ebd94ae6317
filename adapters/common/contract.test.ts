import { describe, expect, it } from 'vitest';
import {
  MAX_RETRY_AFTER_MS,
  PartnerError,
  assertSafeBaseUrl,
  parseResetTime,
  parseRetryAfter,
} from '../../src/adapter.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('7', NOW)).toBe(7000);
    expect(parseRetryAfter(' 1.5 ', NOW)).toBe(1500);
    expect(parseRetryAfter('Tue, 01 Dec 2026 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Tue, 01 Dec 2026 11:00:00 GMT', NOW)).toBe(0); // in the past: now
  });

  it('caps a long pause at one hour, however it is written', () => {
    expect(parseRetryAfter('999999999', NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter(String(20 * 24 * 3600), NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Fri, 01 Jan 2058 00:00:00 GMT', NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(MAX_RETRY_AFTER_MS).toBe(3_600_000);
  });

  it('ignores what is not a delay', () => {
    for (const junk of [
      '-5',
      'NaN',
      'Infinity',
      '1e9',
      '0x10',
      '',
      '   ',
      'soon',
      '12abc',
      '9'.repeat(40),
      '2026-12-02',
    ])
      expect(parseRetryAfter(junk, NOW), junk).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
  });

  it('reset times (unix seconds) are sanitised alike', () => {
    expect(parseResetTime(String(NOW / 1000 + 4), NOW)).toBe(4000);
    expect(parseResetTime(String(NOW / 1000 + 10 ** 9), NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseResetTime('-1', NOW)).toBeUndefined();
    expect(parseResetTime('1e12', NOW)).toBeUndefined();
  });
});

describe('PartnerError', () => {
  it('keeps only a safe code and a sane pause, whoever built it', () => {
    const err = new PartnerError({
      partner: 'p',
      operation: 'upsert',
      kind: 'retryable',
      code: 'Invalid a.canary@example.test',
      retryAfterMs: 999_999_999_000,
    });
    expect(err.code).toBeUndefined();
    expect(err.retryAfterMs).toBe(MAX_RETRY_AFTER_MS);
    expect(err.message).toBe('p upsert failed (retryable), retry after 3600 s');
    expect(new PartnerError({ partner: 'p', operation: 'o', kind: 'retryable', retryAfterMs: NaN }).retryAfterMs).toBe(
      undefined,
    );
  });
});

describe('assertSafeBaseUrl', () => {
  it('allows https anywhere and http only on a loopback address', () => {
    for (const ok of [
      'https://api.example.test',
      'http://127.0.0.1:4010',
      'http://127.8.9.10',
      'http://[::1]:80/x',
      'http://localhost:3000',
      'http://[::ffff:127.0.0.1]:1',
    ])
      expect(() => assertSafeBaseUrl('p', ok), ok).not.toThrow();
  });

  it('parses the host as an address: names that start with 127. are not loopback', () => {
    for (const bad of [
      'http://127.0.0.1.nip.io',
      'http://127.evil.example',
      'http://127.0.0.1.example.test:80',
      'http://localhost.evil.example',
      'http://10.0.0.1',
      'http://[::2]',
      'ftp://127.0.0.1',
      'file:///etc/passwd',
    ])
      expect(() => assertSafeBaseUrl('p', bad), bad).toThrow(/^p: base URL must use https/);
  });

  it('refuses credentials in the URL and never echoes the URL', () => {
    expect(() => assertSafeBaseUrl('p', 'https://user:canary@api.example.test')).toThrow(/credentials/);
    expect(() => assertSafeBaseUrl('p', 'not a canary url')).toThrow(/^p: base URL is not a valid URL$/);
  });
});
