import { buildAccessReport } from './access-report.ts';
import { createConsent } from './consent.ts';
import { createErasure } from './erasure.ts';
import { createManualErasure } from './manual-erasure.ts';
import { createRequestRegister } from './requests.ts';
import { createRestriction } from './restriction.ts';
import { purgeExpired } from './retention.ts';
import type { Lifecycle, LifecycleDeps, LifecycleInternals } from './types.ts';

export type * from './types.ts';
export { LifecycleInputError } from './inputs.ts';
export { renderAccessReport, type AccessReportFormat, type AccessReportLang } from './access-report-render.ts';
export { purgeExpiredRequests } from './requests.ts';
export { requestDueAt } from './requests-due.ts';
export { requestKinds, requestOutcomes, erasureResolutions } from './types.ts';

/** The data-subject lifecycle (issue 4), composed from one small module per right. */
export function createLifecycle(deps: LifecycleDeps): { api: Lifecycle; internals: LifecycleInternals } {
  const erasure = createErasure(deps);
  const { restrict, unrestrict } = createRestriction(deps);
  const requests = createRequestRegister(deps);
  const api: Lifecycle = {
    consent: createConsent(deps),
    restrict,
    unrestrict,
    erase: erasure.erase,
    erasureStatus: erasure.erasureStatus,
    pendingErasures: erasure.pendingErasures,
    processDueErasures: erasure.processDueErasures,
    resolveErasure: erasure.resolveErasure,
    recordManualErasure: createManualErasure(deps, erasure),
    access: (subjectId, options) => buildAccessReport(deps, requests, subjectId, options),
    requests,
    purgeExpired: () => purgeExpired(deps),
  };
  return { api, internals: { onPartnerErased: erasure.onPartnerErased } };
}
