import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultPolicyPath, loadPolicyFile, parsePolicy, PolicyError } from '../../src/policy/index.ts';

const text = readFileSync(defaultPolicyPath, 'utf8');

function problemsOf(yaml: string): string {
  try {
    parsePolicy(yaml, 'test-policy.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return (error as Error).message;
  }
  throw new Error('expected the policy to be rejected');
}

describe('policy loader', () => {
  it('loads the default policy: frozen, typed, with a stable digest', () => {
    const a = loadPolicyFile();
    const b = loadPolicyFile();
    expect(a.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(a.digest).toBe(b.digest);
    expect(Object.isFrozen(a.document.partners.stripe!.sends)).toBe(true);
    expect(() => (a.document.partners.stripe!.sends as string[]).push('email')).toThrow();
    expect(a.allowedFields('stripe')).toEqual(['name.given', 'name.family']);
    expect(a.allowedFields('resin')).toEqual([]);
    expect(a.legalBasis('mailchimp')).toBe('consent');
  });

  it('digest changes when the policy changes', () => {
    const changed = parsePolicy(text.replace('sends: [name, email, phone]', 'sends: [name, email]'));
    expect(changed.digest).not.toBe(loadPolicyFile().digest);
  });

  it('rejects a partner allowed a camera category, naming file, path and line', () => {
    const message = problemsOf(
      text.replace(
        'sends: [name]\n    collects: [payment_card]',
        'sends: [name, camera_video]\n    collects: [payment_card]',
      ),
    );
    expect(message).toContain('test-policy.yaml');
    expect(message).toMatch(
      /partners\.stripe\.sends\.1 \(line \d+\): camera category camera_video must never leave the company/,
    );
  });

  it('rejects a camera category collected directly too', () => {
    expect(problemsOf(text.replace('collects: [ip_address]', 'collects: [ip_address, camera_sensor_data]'))).toMatch(
      /partners\.resin\.collects\.1.*camera category/,
    );
  });

  it('names unknown categories, purposes, fields and bad YAML', () => {
    expect(
      problemsOf(
        text.replace(
          'sends: [name, email]\n    requires: [email]\n    erasure: delete\n    consent',
          'sends: [name, emial]\n    requires: [email]\n    erasure: delete\n    consent',
        ),
      ),
    ).toMatch(/partners\.mailchimp\.sends\.1.*unknown category emial/);
    expect(problemsOf(text.replace('purpose: payment\n', 'purpose: paymnt\n'))).toMatch(
      /partners\.stripe\.purpose.*unknown purpose paymnt/,
    );
    expect(problemsOf(text.replace('mode: sync\n    sends: [name]', 'mode: sink\n    sends: [name]'))).toMatch(
      /partners\.stripe\.mode/,
    );
    expect(problemsOf(text.replace('fields: [phone]', 'fields: [phone, "bad path"]'))).toMatch(
      /categories\.phone\.fields\.1.*dotted field path/,
    );
    expect(problemsOf('version: 1\npartners: [\n')).toMatch(/line \d+, column \d+/);
    expect(problemsOf(text + '\nsurprise: true\n')).toMatch(/surprise|Unrecognized key/i);
  });

  it('requires a consent section for consent-based purposes', () => {
    expect(problemsOf(text.replace('    consent: { purpose: marketing, onWithdrawal: unsubscribe }\n', ''))).toMatch(
      /partners\.mailchimp\.consent.*rests on consent/,
    );
  });

  it('says when the file cannot be read', () => {
    expect(() => loadPolicyFile('/nonexistent/policy.yaml')).toThrow(
      /invalid policy \/nonexistent\/policy.yaml:\n {2}cannot read the file: ENOENT/,
    );
  });
});
