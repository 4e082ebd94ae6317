import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  categoryFieldPaths,
  defaultPolicyPath,
  fromDocument,
  loadPolicyFile,
  parsePolicy,
  PolicyError,
  resolvePolicy,
  type Policy,
  type PolicyDocument,
} from '../../src/policy/index.ts';

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

/** The line of the first occurrence of `needle` in the default policy text (1-based). */
function lineOfText(yaml: string, needle: string): number {
  const at = yaml.indexOf(needle);
  if (at < 0) throw new Error(`${needle} is not in the policy text`);
  return yaml.slice(0, at).split('\n').length;
}

describe('policy validation: hostile and careless policies', () => {
  it('refuses names every object answers to (constructor, toString, __proto__) as purposes, categories and keys', () => {
    const purpose = text.replace('purpose: fulfilment\n', 'purpose: constructor\n');
    expect(problemsOf(purpose)).toMatch(
      new RegExp(
        `invalid policy test-policy.yaml:\\n {2}partners\\.elogistik\\.purpose \\(line ${lineOfText(purpose, 'purpose: constructor')}\\): constructor is a reserved name`,
      ),
    );
    const sends = text.replace('sends: [name]\n', 'sends: [constructor]\n');
    expect(problemsOf(sends)).toMatch(
      new RegExp(
        `partners\\.stripe\\.sends\\.0 \\(line ${lineOfText(sends, '[constructor]')}\\): constructor is a reserved name`,
      ),
    );
    expect(problemsOf(text.replace('held: [name,', 'held: [toString, name,'))).toMatch(
      /held\.0 \(line \d+\): toString/,
    );
    expect(problemsOf(text.replace('consent: { purpose: marketing', 'consent: { purpose: hasOwnProperty'))).toMatch(
      /partners\.mailchimp\.consent\.purpose \(line \d+\): hasOwnProperty is a reserved name/,
    );
    // YAML makes __proto__ an own key; zod's records would drop it, and the category with it.
    const proto = text.replace('categories:\n', 'categories:\n  __proto__:\n    label: { sv: a, en: b }\n');
    expect(problemsOf(proto)).toMatch(/categories\.__proto__ \(line 1[0-9]\): __proto__ is a reserved name/);
  });

  it('accepts only field paths the master record has, and never its id or partner ids', () => {
    const typo = text.replace('fields: [email]', 'fields: [emial]');
    expect(problemsOf(typo)).toMatch(
      new RegExp(
        `categories\\.email\\.fields\\.0 \\(line ${lineOfText(typo, '[emial]')}\\): emial is not a field of the master record`,
      ),
    );
    expect(problemsOf(typo)).toContain('category fields are name.given, name.family, address.street');
    expect(problemsOf(text.replace('fields: [email]', 'fields: [email, id]'))).toMatch(
      /categories\.email\.fields\.1 \(line \d+\): id is the internal customer id, which never leaves the company/,
    );
    expect(problemsOf(text.replace('fields: [email]', 'fields: [email, partnerIds.auth0]'))).toMatch(
      /categories\.email\.fields\.1 \(line \d+\): partnerIds\.auth0: partnerIds holds the ids partners gave us/,
    );
    expect(problemsOf(text.replace('fields: [phone]', 'fields: [phone, subscription.end]'))).toMatch(
      /categories\.phone\.fields\.1.*subscription\.end: subscription drives when erasure falls due/,
    );
    expect(problemsOf(text.replace('fields: [phone]', 'fields: [phone, address]'))).toMatch(
      /address is a group of fields: name each \(address\.street, address\.postalCode, address\.city, address\.country\)/,
    );
    expect(categoryFieldPaths()).toEqual([
      'name.given',
      'name.family',
      'address.street',
      'address.postalCode',
      'address.city',
      'address.country',
      'phone',
      'email',
    ]);
  });

  it('turns alias bombs and dangling aliases into errors naming the line', () => {
    const laughs = [
      'version: 1',
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    ].join('\n');
    expect(problemsOf(laughs)).toMatch(/line 3: aliases expand to more than 50 copies \(a YAML alias bomb\?\)/);
    expect(problemsOf(text.replace('transfer: &us_transfer', 'transfer: &us'))).toMatch(
      new RegExp(`line ${lineOfText(text, '*us_transfer')}: alias \\*us_transfer has no anchor &us_transfer before it`),
    );
    // The default policy itself reuses one block through an anchor: a few aliases are fine.
    expect(loadPolicyFile().partner('stripe').transfer).toEqual(loadPolicyFile().partner('mailchimp').transfer);
  });

  it('requires the legitimate interest where a purpose rests on it, and refuses it elsewhere', () => {
    const start = text.indexOf('    legitimateInterest:');
    const end = text.indexOf('\n', text.indexOf('      en:', start)) + 1;
    expect(problemsOf(text.slice(0, start) + text.slice(end))).toMatch(
      /purposes\.device_operations\.legalBasis \(line \d+\): a purpose resting on legitimate_interest must state the interest/,
    );
    expect(
      problemsOf(
        text.replace(
          'legalBasis: contract\n  marketing:',
          'legalBasis: contract\n    legitimateInterest: { sv: x, en: y }\n  marketing:',
        ),
      ),
    ).toMatch(
      /purposes\.fulfilment\.legitimateInterest.*only to a purpose resting on legitimate_interest, not contract/,
    );
  });

  it('requires every partner to say where it processes the data, and a country and safeguard outside the EU/EEA', () => {
    expect(problemsOf(text.replace('    transfer: { outsideEea: false }\n', ''))).toMatch(
      /partners\.elogistik\.transfer \(line \d+\)/,
    );
    expect(problemsOf(text.replace('transfer: { outsideEea: false }', 'transfer: { outsideEea: true }'))).toMatch(
      /partners\.elogistik\.transfer\.(country|safeguard)/,
    );
  });

  it('takes a restriction behaviour per partner (keep by default): suppress only on consent, archive only in sync', () => {
    const p = loadPolicyFile();
    expect(p.partnerNames.map((n) => [n, p.partner(n).restriction])).toEqual([
      ['elogistik', 'keep'],
      ['mailchimp', 'suppress'],
      ['stripe', 'keep'],
      ['intercom', 'archive'],
      ['twilio', 'keep'],
      ['auth0', 'keep'],
      ['resin', 'keep'],
    ]);
    const elogistik = text.indexOf('  elogistik:');
    const withRestriction = (mode: string, partner = elogistik) =>
      text.slice(0, partner) + text.slice(partner).replace('    restriction: keep\n', `    restriction: ${mode}\n`);
    expect(problemsOf(withRestriction('suppress'))).toMatch(
      /partners\.elogistik\.restriction \(line \d+\): restriction suppress needs a consent section/,
    );
    expect(problemsOf(withRestriction('archive', text.indexOf('  twilio:')))).toMatch(
      /partners\.twilio\.restriction \(line \d+\): restriction archive needs mode sync/,
    );
    expect(problemsOf(withRestriction('block'))).toMatch(/partners\.elogistik\.restriction/);
    expect(parsePolicy(text.replace(/^ {4}restriction: keep\n/m, '')).partner('elogistik').restriction).toBe('keep');
  });

  it('maps partner field names only to categories the partner is sent or collects', () => {
    expect(
      problemsOf(
        text.replace('partnerFields: { public_address: ip_address }', 'partnerFields: { public_address: email }'),
      ),
    ).toMatch(
      /partners\.resin\.partnerFields\.public_address.*category email is neither sent to nor collected by resin/,
    );
    expect(problemsOf(text.replace('actions:\n      alarm:', 'actions:\n      constructor:'))).toMatch(
      /partners\.twilio\.actions\.constructor.*reserved name/,
    );
  });

  it('knows the category of each field a partner returns, or that the policy does not cover it', () => {
    const p = loadPolicyFile();
    expect(p.categoryOfHeldField('elogistik', 'address.street')).toBe('address');
    expect(p.categoryOfHeldField('intercom', 'name')).toBe('name');
    expect(p.categoryOfHeldField('resin', 'ip_address.1234')).toBe('ip_address');
    expect(p.categoryOfHeldField('resin', 'public_address.1234')).toBe('ip_address');
    expect(p.categoryOfHeldField('resin', 'mac_address.1234')).toBeUndefined();
    expect(p.categoryOfHeldField('mailchimp', 'ip_signup')).toBeUndefined();
    expect(p.categoryOfHeldField('mailchimp', 'constructor')).toBeUndefined();
  });
});

describe('every way into the gateway validates the policy', () => {
  const valid = () => structuredClone(loadPolicyFile().document) as PolicyDocument;
  const withCamera = () => {
    const doc = valid();
    (doc.partners.stripe!.sends as string[]).push('camera_video');
    return doc;
  };

  it('a document: the schema and the camera guard, with the path named', () => {
    expect(() => fromDocument(withCamera())).toThrow(
      /invalid policy \(policy object\):\n {2}partners\.stripe\.sends\.1: camera category camera_video must never leave the company/,
    );
    expect(() => resolvePolicy(withCamera())).toThrow(PolicyError);
    const typo = valid();
    (typo.categories.email!.fields as string[])[0] = 'emial';
    expect(() => resolvePolicy(typo)).toThrow(
      /categories\.email\.fields\.0: emial is not a field of the master record/,
    );
    expect(() => resolvePolicy({ version: 1 } as never)).toThrow(/controller/);
  });

  it('a Policy object not built by the loader is rebuilt from its document, so its checks and digest are the loader’s', () => {
    const loaded = loadPolicyFile();
    expect(resolvePolicy(loaded)).toBe(loaded);
    const forgedCamera = { ...loaded, document: withCamera() } as Policy;
    expect(() => resolvePolicy(forgedCamera)).toThrow(/camera category camera_video must never leave the company/);
    // A hand-made Policy whose methods lie about what a partner may get: its own answers are not used.
    const lying = { ...loaded, digest: 'x', allowedFields: () => ['email'] } as Policy;
    const resolved = resolvePolicy(lying);
    expect(resolved).not.toBe(lying);
    expect(resolved.allowedFields('stripe')).toEqual(['name.given', 'name.family']);
    expect(resolved.digest).toBe(loaded.digest);
  });

  it('a path, or nothing (the default policy); and nothing else', () => {
    expect(resolvePolicy(defaultPolicyPath).digest).toBe(loadPolicyFile().digest);
    expect(resolvePolicy().digest).toBe(loadPolicyFile().digest);
    expect(() => resolvePolicy(42 as never)).toThrow(/expected a path, a document or a Policy/);
    const cyclic = valid() as unknown as Record<string, unknown>;
    cyclic.self = cyclic;
    expect(() => resolvePolicy(cyclic as never)).toThrow(PolicyError);
  });

  it('a document with a getter or a prototype is validated as the plain data it is', () => {
    const doc = valid() as unknown as Record<string, unknown>;
    const proto = JSON.parse('{"__proto__": {"label": {"sv": "x", "en": "y"}}}') as Record<string, unknown>;
    doc.categories = { ...(doc.categories as object), ...proto };
    expect(Object.hasOwn(doc.categories as object, '__proto__')).toBe(true);
    expect(() => resolvePolicy(doc as never)).toThrow(/categories\.__proto__: __proto__ is a reserved name/);
  });
});
