import type { Policy } from '../src/policy/index.ts';
import type { MasterRecord } from '../src/record.ts';
import type { Sandbox } from '../src/sandbox/index.ts';

/** Holdings field names (as emulators report them) -> policy category. */
const categoryOf = (field: string): string | undefined =>
  ({ name: 'name', email: 'email', phone: 'phone', address: 'address', ip_address: 'ip_address', public_address: 'ip_address' } as Record<string, string>)[field.split('.')[0]!];

export interface HoldingsCheck {
  readonly table: string;
  readonly violations: string[];
}

/**
 * What each sandbox partner holds, against the policy: every personal field must belong to a
 * category the partner is sent or collects directly, and nothing may belong to an erased subject.
 */
export function checkHoldings(policy: Policy, sandbox: Sandbox, erased: readonly MasterRecord[]): HoldingsCheck {
  const violations: string[] = [];
  const rows: (string | number)[][] = [];
  // The email identifies a person here: the made-up customers share names, and their phone numbers
  // come from the small range Sweden's regulator sets aside for fiction, so those repeat.
  const erasedValues = new Set(erased.flatMap((r) => (r.email ? [r.email.toLowerCase()] : [])));
  for (const partner of policy.partnerNames) {
    const holdings = Object.values(sandbox.emulators[partner]?.holdings() ?? {});
    const p = policy.partner(partner);
    const allowed = new Set([...p.sends, ...p.collects]);
    const held = new Set<string>();
    for (const h of holdings) {
      for (const [field, value] of Object.entries(h.personal)) {
        const category = categoryOf(field);
        held.add(category ?? field);
        if (!category || !allowed.has(category)) violations.push(`${partner} holds ${field}, outside its allowlist`);
        if (typeof value === 'string' && erasedValues.has(value.toLowerCase())) violations.push(`${partner} still holds data of an erased subject`);
      }
    }
    rows.push([partner, holdings.length, [...held].sort().join(', ') || '-', [...allowed].join(', ') || '-', violations.some((v) => v.startsWith(`${partner} `)) ? 'VIOLATION' : 'ok']);
  }
  return { table: formatTable(['partner', 'records', 'categories held', 'policy allows', 'check'], rows), violations: [...new Set(violations)] };
}

export function formatTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => '  ' + r.map((c, i) => (typeof rows[0]?.[i] === 'number' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(cells[0]!), '  ' + widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
