/**
 * The spec check: every request a partner's emulator receives in this process (sandbox, test
 * partners, nock partners) is checked against that partner's published API definition as it
 * arrives, and the violations are kept until a test asks for them. test/spec/setup.ts makes every
 * test fail that caused one.
 */
import { observeExchanges } from '../../src/sandbox/index.ts';
import { checkRequest, type SpecViolation } from './request-check.ts';

export interface SpecCheck {
  /** The violations since the last take, and forgets them. */
  take(): SpecViolation[];
  /** Throws one error listing every violation since the last take (partner, operation, place; no value). */
  assertConforming(): void;
  /** "partner METHOD /path/{template}" of every spec operation a request reached since the check was installed. */
  seen(): ReadonlySet<string>;
}

let installed: SpecCheck | undefined;

/** Installs the check once per module graph (a test file and its setup file share one). */
export function installSpecCheck(): SpecCheck {
  if (installed) return installed;
  let violations: SpecViolation[] = [];
  const seen = new Set<string>();
  observeExchanges({
    request(partner, request) {
      try {
        const result = checkRequest(partner, request);
        violations.push(...result.violations);
        if (result.operation) seen.add(`${partner} ${result.operation}`);
      } catch (err) {
        // The lane ignores an observer's failure, so a broken check must fail the test here instead.
        const problem = `the check itself failed: ${err instanceof Error ? err.message : String(err)}`;
        violations.push({ partner, operation: `${request.method} (unchecked)`, where: 'route', problem });
      }
    },
  });
  const take = () => {
    const out = violations;
    violations = [];
    return out;
  };
  installed = {
    take,
    seen: () => seen,
    assertConforming() {
      const found = take();
      if (found.length > 0) throw new Error(formatViolations(found));
    },
  };
  return installed;
}

export function formatViolations(violations: readonly SpecViolation[]): string {
  const lines = [...new Set(violations.map((v) => `  ${v.partner} ${v.operation} [${v.where}] ${v.problem}`))];
  return `requests that their partner's published API definition does not allow (see test/fixtures/partner-specs/):\n${lines.join('\n')}`;
}
