import { describe, expect, it } from 'vitest';
import { loadPolicyFile } from '../../src/policy/load.ts';
import { summarisePolicy } from '../../src/policy/summary.ts';

describe('summarisePolicy', () => {
  const policy = loadPolicyFile();
  const summary = summarisePolicy(policy);
  const block = (partner: string): string => {
    const start = summary.indexOf(`\n${partner} (`);
    expect(start, partner).toBeGreaterThan(0);
    const end = summary.indexOf('\n\n', start + 1);
    return summary.slice(start, end === -1 ? undefined : end);
  };

  it('carries the digest and a block for every partner, in policy order', () => {
    expect(summary).toContain(`sha256:${policy.digest}`);
    const order = policy.partnerNames.map((name) => summary.indexOf(`\n${name} (`));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('shows mode, purpose, legal basis, the fields each category sends, collects, erasure and consent', () => {
    const elogistik = block('elogistik');
    expect(elogistik).toMatch(/mode\s+sync/);
    expect(elogistik).toMatch(/purpose\s+fulfilment/);
    expect(elogistik).toMatch(/legal basis\s+contract/);
    expect(elogistik).toMatch(/address\s+address\.street, address\.postalCode, address\.city, address\.country/);
    expect(elogistik).toMatch(/erasure\s+delete/);
    expect(block('mailchimp')).toMatch(/consent\s+marketing, on withdrawal: unsubscribe/);
    expect(block('stripe')).toMatch(/collects\s+payment_card\n/);
    expect(block('intercom')).toMatch(/collects\s+app_usage \(activity/);
    expect(block('stripe')).toMatch(/processes in\s+the United States \(outside the EU\/EEA\)\n/);
    expect(block('elogistik')).toMatch(/processes in\s+the EU\/EEA\n/);
    expect(block('twilio')).toMatch(/kept after\s+Twilio keeps the called phone number .* 120 days/);
    expect(summary).toMatch(/requests {4}answered within 1 month \(extendable by 2 months\)/);
    expect(block('resin')).toMatch(/mode\s+none\n[\s\S]*legal basis\s+legitimate_interest\n\s+sends\s+-\n/);
  });
});
