/**
 * An emulator of the Acme Rewards API, for the sandbox and for tests: it answers as the real API
 * would (statuses, error bodies, the rate-limit answer), keeps what it was sent, and reports its
 * holdings by category so a test can check them against the policy.
 */
import type { EmulatorRequest, EmulatorResponse, PartnerEmulator } from '../../src/index.ts';

export const REWARDS_SANDBOX_KEY = 'rewards-sandbox-key';

interface Member {
  firstName?: string;
  lastName?: string;
  email?: string;
  updatedAt: string;
}

export function createRewardsEmulator(): PartnerEmulator {
  const members = new Map<string, Member>();
  const error = (status: number, code: string): EmulatorResponse => ({ status, body: { error: { code } } });

  return {
    partner: 'rewards',
    limits: { perSecond: 20 },
    rateLimited: (seconds) => ({ ...error(429, 'rate_limited'), headers: { 'retry-after': String(seconds) } }),

    handle(req: EmulatorRequest): EmulatorResponse {
      if (req.headers.authorization !== `Bearer ${REWARDS_SANDBOX_KEY}`) return error(401, 'unauthorized');
      const match = /^\/members\/([^/]+)$/.exec(req.path);
      if (!match) return error(404, 'not_found');
      const id = decodeURIComponent(match[1]!);
      if (req.method === 'GET') {
        const member = members.get(id);
        return member ? { status: 200, body: { id, ...member } } : error(404, 'member_not_found');
      }
      if (req.method === 'DELETE') {
        return members.delete(id) ? { status: 204 } : error(404, 'member_not_found');
      }
      if (req.method === 'PUT') {
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(req.body.toString('utf8')) as Record<string, unknown>;
        } catch {
          return error(400, 'invalid_json');
        }
        const unknown = Object.keys(body).filter((k) => !['firstName', 'lastName', 'email'].includes(k));
        if (unknown.length > 0) return error(400, 'unknown_field');
        const existed = members.has(id);
        // PUT replaces the member: a field left out is a field no longer held.
        members.set(id, { ...(body as Omit<Member, 'updatedAt'>), updatedAt: new Date().toISOString() });
        return { status: existed ? 200 : 201, body: { id } };
      }
      return error(405, 'method_not_allowed');
    },

    holdings() {
      return Object.fromEntries(
        [...members].map(([id, m]) => [
          id,
          {
            personal: {
              ...(m.firstName ? { 'name.given': m.firstName } : {}),
              ...(m.lastName ? { 'name.family': m.lastName } : {}),
              ...(m.email ? { email: m.email } : {}),
            },
            meta: { updatedAt: m.updatedAt },
          },
        ]),
      );
    },

    reset: () => members.clear(),
  };
}
