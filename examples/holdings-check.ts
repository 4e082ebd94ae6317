import type { Policy } from '../src/policy/index.ts';
import type { MasterRecord } from '../src/record.ts';
import type { Sandbox } from '../src/sandbox/index.ts';
import { checkPartnerHoldings } from '../src/testing/index.ts';

export interface HoldingsCheck {
  readonly table: string;
  readonly violations: string[];
}

/**
 * What each sandbox partner holds, against the policy: every personal field must belong to a
 * category the partner is sent or collects directly, and nothing may belong to an erased subject.
 * The check itself is the one host tests get from partner-gateway/testing; this adds the table.
 */
export function checkHoldings(policy: Policy, sandbox: Sandbox, erased: readonly MasterRecord[]): HoldingsCheck {
  const reports = policy.partnerNames.map((partner) =>
    checkPartnerHoldings(policy, partner, sandbox.emulators[partner]?.holdings() ?? {}, { erased }),
  );
  const rows = reports.map((r) => [
    r.partner,
    r.records,
    r.held.join(', ') || '-',
    r.allowed.join(', ') || '-',
    r.problems.length > 0 ? 'VIOLATION' : 'ok',
  ]);
  return {
    table: formatTable(['partner', 'records', 'categories held', 'policy allows', 'check'], rows),
    violations: reports.flatMap((r) => r.problems),
  };
}

export function formatTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    '  ' +
    r.map((c, i) => (typeof rows[0]?.[i] === 'number' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(cells[0]!), '  ' + widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
