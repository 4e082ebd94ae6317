/**
 * A plain-text summary of the loaded policy for `policy check`: what an operator needs to confirm that
 * the file says what they meant, partner by partner, in the terms the gateway enforces (record fields,
 * not labels), with the digest that every transfer-log row will carry.
 */
import type { Policy } from './load.ts';

const none = '-';

export function summarisePolicy(policy: Policy): string {
  const doc = policy.document;
  const out: string[] = [
    `policy      ${policy.source}`,
    `digest      sha256:${policy.digest}`,
    `controller  ${doc.controller.name} <${doc.controller.contact}>`,
    `erasure     at the ${doc.retention.erasureAfterSubscriptionEnds} after a subscription ends (${doc.retention.timeZone})`,
    `records     the gateway's own kept ${plural(doc.retention.gatewayRecordsAfterRelationshipEnds.years, 'year')} after the relationship ends`,
    `held        ${doc.held.join(', ') || none}`,
    `requests    answered within ${plural(doc.rights.answerWithinMonths, 'month')} (extendable by ${plural(doc.rights.maxExtensionMonths, 'month')})`,
  ];

  for (const name of policy.partnerNames) {
    const p = policy.partner(name);
    const purpose = doc.purposes[p.purpose];
    // Pad category names to one column so the field lists line up under each other.
    const width = Math.max(0, ...p.sends.map((c) => c.length));
    const sends = p.sends.map((c) => `${c.padEnd(width)}  ${(doc.categories[c]?.fields ?? []).join(', ')}`);
    const rows: [string, string | string[]][] = [
      ['mode', p.mode],
      ['purpose', purpose ? `${p.purpose} (${purpose.label.en})` : p.purpose],
      ['legal basis', policy.legalBasis(name)],
      ['sends', sends.length > 0 ? sends : none],
      ['requires', p.requires.join(', ') || none],
      // Activity records are left out of the public notice (see noticeCategories): show which.
      [
        'collects',
        p.collects
          .map((c) => (doc.categories[c]?.activity ? `${c} (activity: not listed in the notice)` : c))
          .join(', ') || none,
      ],
      ['erasure', p.erasure],
      ['consent', p.consent ? `${p.consent.purpose}, on withdrawal: ${p.consent.onWithdrawal}` : none],
      ['processes in', p.transfer.outsideEea ? `${p.transfer.country.en} (outside the EU/EEA)` : 'the EU/EEA'],
      ['kept after', p.keepsAfterErasure.length > 0 ? p.keepsAfterErasure.map((k) => k.en) : none],
    ];
    out.push('', `${name} (${p.displayName})`);
    for (const [key, value] of rows) {
      const [first = none, ...rest] = Array.isArray(value) ? value : [value];
      out.push(`  ${key.padEnd(13)}${first}`, ...rest.map((line) => `  ${''.padEnd(13)}${line}`));
    }
  }
  return `${out.join('\n')}\n`;
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
