import { describe, expect, it } from 'vitest';
import type { PartnerAdapter } from '../../src/adapter.ts';
import { checkAdapters } from '../../src/adapters-check.ts';
import { loadPolicyFile } from '../../src/policy/index.ts';

const policy = loadPolicyFile();
const bare = (partner: string, extra: Partial<PartnerAdapter> = {}): PartnerAdapter => ({
  partner,
  retainedAfterErasure: [],
  erase: async () => ({ removed: [] }),
  cannotClear: [],
  ...extra,
});

describe('the policy’s restriction behaviour must be one the adapter can carry out', () => {
  it('refuses archive without restrict and unrestrict, and suppress without suppress', () => {
    expect(() => checkAdapters(policy, [bare('intercom')])).toThrow(
      /partners\.intercom\.restriction is archive, but the intercom adapter has no restrict and unrestrict/,
    );
    expect(() => checkAdapters(policy, [bare('mailchimp')])).toThrow(
      /partners\.mailchimp\.restriction is suppress, but the mailchimp adapter has no suppress/,
    );
  });

  it('accepts them when the adapter has them, and keep from any adapter', () => {
    const ok = async () => ({ partnerIds: [] });
    expect(() =>
      checkAdapters(policy, [
        bare('intercom', { restrict: ok, unrestrict: ok }),
        bare('mailchimp', { suppress: async () => ({ partnerId: '' }) }),
        bare('stripe'),
      ]),
    ).not.toThrow();
  });
});
