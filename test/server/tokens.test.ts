import { describe, expect, it } from 'vitest';
import { parseTokens, tokenChecker } from '../../src/server/index.ts';

const good = 'k3y-0123456789abcdefghijklmn';

describe('ops tokens from the environment', () => {
  it('parses name:role:token entries', () => {
    expect(parseTokens(`alice:operator:${good}, grafana:read:${good}x`)).toEqual([
      { name: 'alice', role: 'operator', token: good },
      { name: 'grafana', role: 'read', token: `${good}x` },
    ]);
    expect(parseTokens(undefined)).toEqual([]);
    expect(parseTokens('  ')).toEqual([]);
  });

  it('refuses bad entries, naming the entry and never the token', () => {
    const cases: [string, RegExp][] = [
      [`alice:${good}`, /entry 1: expected name:role:token/],
      [`alice:admin:${good}`, /entry 1 \(alice\): the role must be read or operator/],
      ['alice:read:short-secret', /entry 1 \(alice\): the token must be at least 24/],
      [`alice:read:${good},alice:operator:${good}y`, /entry 2 \(alice\): the name is used twice/],
      [`alice:read:${good},bob:operator:${good}`, /entry 2 \(bob\): the token is used twice/],
      [`al ice:read:${good}`, /entry 1: the name must be/],
    ];
    for (const [value, message] of cases) {
      let error: unknown;
      try {
        parseTokens(value);
      } catch (e) {
        error = e;
      }
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain(good.slice(0, 12));
      expect((error as Error).message).not.toContain('short-secret');
    }
  });

  it('matches bearer headers to tokens, and nothing else', () => {
    const check = tokenChecker(parseTokens(`alice:operator:${good},grafana:read:${good}x`));
    expect(check(`Bearer ${good}`)).toEqual({ name: 'alice', role: 'operator' });
    expect(check(`bearer ${good}x`)).toEqual({ name: 'grafana', role: 'read' });
    expect(check(`Bearer ${good}y`)).toBeNull();
    expect(check(good)).toBeNull();
    expect(check(`Basic ${good}`)).toBeNull();
    expect(check(undefined)).toBeNull();
    expect(check('Bearer ')).toBeNull();
  });
});
