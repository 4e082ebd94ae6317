/**
 * The spec check: every request a partner's emulator receives in this process (sandbox, test
 * partners, nock partners, a bare served emulator) is checked against that partner's published API
 * definition, and the violations are kept until a test asks for them. test/spec/setup.ts makes
 * every test fail that caused one.
 *
 * A request the emulator refused as invalid (400 or 422) is not held against the test: the
 * partner's refusal is what that test sees and, usually, what it is about (an invalid number,
 * a missing address). The check exists for the requests a partner would not take but the emulator
 * did (or never answered): an adapter sending a field the partner never defined, or an emulator
 * kinder than its partner.
 */
import type { EmulatorRequest } from '../../src/emulator.ts';
import { observeExchanges } from '../../src/sandbox/index.ts';
import { checkRequest, type SpecViolation } from './request-check.ts';

export interface SpecCheck {
  /** The violations since the last take (of requests not refused as invalid), and forgets them. */
  take(): SpecViolation[];
  /** Throws one error listing every violation since the last take (partner, operation, place; no value). */
  assertConforming(): void;
  /** "partner METHOD /path/{template}" of every spec operation a request reached since the check was installed. */
  seen(): ReadonlySet<string>;
}

const REFUSED_AS_INVALID = new Set([400, 422]);

let installed: SpecCheck | undefined;

/** Installs the check once per module graph (a test file and its setup file share one). */
export function installSpecCheck(): SpecCheck {
  if (installed) return installed;
  let violations: SpecViolation[] = [];
  const pending = new WeakMap<EmulatorRequest, SpecViolation[]>();
  const seen = new Set<string>();
  observeExchanges({
    request(partner, request) {
      try {
        const result = checkRequest(partner, request);
        if (result.operation) seen.add(`${partner} ${result.operation}`);
        if (result.violations.length > 0) pending.set(request, result.violations);
      } catch (err) {
        // The lane ignores an observer's failure, so a broken check must fail the test here instead.
        const problem = `the check itself failed: ${err instanceof Error ? err.message : String(err)}`;
        violations.push({ partner, operation: `${request.method} (unchecked)`, where: 'route', problem });
      }
    },
    response(_partner, request, response) {
      const found = pending.get(request);
      if (found === undefined) return;
      pending.delete(request);
      if (response === undefined || !REFUSED_AS_INVALID.has(response.status)) violations.push(...found);
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
  return `requests their partner's published API definition does not allow, which the emulator took (see test/fixtures/partner-specs/):\n${lines.join('\n')}`;
}
