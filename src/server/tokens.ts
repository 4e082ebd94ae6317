/**
 * Bearer tokens for the ops server, from the environment: PARTNER_GATEWAY_OPS_TOKENS holds
 * comma-separated `name:role:token` entries, e.g. `alice:operator:<32 random chars>,grafana:read:<...>`.
 * The name is who acts (it goes into the transfer log as the operator of every state change); the role
 * is `read` (status, metrics, audit) or `operator` (also everything that changes state or shows
 * personal data). Errors name the entry by its position and its name, never the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const OPS_TOKENS_VARIABLE = 'PARTNER_GATEWAY_OPS_TOKENS';

export type Role = 'read' | 'operator';

export interface OpsToken {
  /** Who acts with this token: logged as the operator. */
  readonly name: string;
  readonly role: Role;
  readonly token: string;
}

export interface Caller {
  readonly name: string;
  readonly role: Role;
}

/** Shorter tokens are guessable; 24 characters of base64url is 144 bits. */
export const MIN_TOKEN_LENGTH = 24;
const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;
const TOKEN = /^[A-Za-z0-9_~+/=.-]+$/;

export class TokenConfigError extends Error {
  override readonly name = 'TokenConfigError';
}

/** Parses the variable's value; an empty or missing value is no tokens (then nothing but health answers). */
export function parseTokens(value: string | undefined, variable = OPS_TOKENS_VARIABLE): OpsToken[] {
  if (value === undefined || value.trim() === '') return [];
  const tokens: OpsToken[] = [];
  value.split(',').forEach((raw, index) => {
    const entry = raw.trim();
    const where = `${variable} entry ${index + 1}`;
    const parts = entry.split(':');
    if (parts.length !== 3) throw new TokenConfigError(`${where}: expected name:role:token`);
    const [name, role, token] = parts as [string, string, string];
    if (!NAME.test(name)) throw new TokenConfigError(`${where}: the name must be 1-64 letters, digits or _ . @ -`);
    const named = `${where} (${name})`;
    if (role !== 'read' && role !== 'operator')
      throw new TokenConfigError(`${named}: the role must be read or operator`);
    if (token.length < MIN_TOKEN_LENGTH || !TOKEN.test(token))
      throw new TokenConfigError(
        `${named}: the token must be at least ${MIN_TOKEN_LENGTH} characters of letters, digits or - _ ~ + / = .`,
      );
    if (tokens.some((t) => t.name === name)) throw new TokenConfigError(`${named}: the name is used twice`);
    if (tokens.some((t) => t.token === token)) throw new TokenConfigError(`${named}: the token is used twice`);
    tokens.push({ name, role, token });
  });
  return tokens;
}

/** Checks Authorization headers against the tokens in constant time per token. */
export function tokenChecker(tokens: readonly OpsToken[]): (authorization: string | undefined) => Caller | null {
  // Compare digests, so every comparison is of equal length whatever was sent.
  const digest = (text: string) => createHash('sha256').update(text).digest();
  const known = tokens.map((t) => ({ caller: { name: t.name, role: t.role }, digest: digest(t.token) }));
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return null;
    const sent = digest(match[1]!);
    let found: Caller | null = null;
    for (const k of known) if (timingSafeEqual(k.digest, sent)) found = k.caller;
    return found;
  };
}

export function allows(caller: Caller, needed: Role): boolean {
  return needed === 'read' || caller.role === 'operator';
}
