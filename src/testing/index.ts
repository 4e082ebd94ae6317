/**
 * partner-gateway/testing: helpers for the host application's own tests. Partners are mocked by the
 * same emulators the sandbox serves, so what a test asserts a partner holds is what the real API
 * would hold. Nothing here depends on a test runner: checks return problems or throw an Error whose
 * message names subjects and fields, never a personal value.
 */
export { createTestGateway, testLogger, testSecrets, type TestGatewayOptions } from './test-gateway.ts';
export { startTestPartners, type TestPartners, type TestPartnersOptions } from './test-partners.ts';
export { mockPartnersWithNock, type NockPartnersOptions } from './nock-partners.ts';
export type { MockPartners, AdapterOverrides } from './inspection.ts';
export { canaryRecord, canaryRecords, canaryFields, canariesOf, MemorySource } from './records.ts';
export { findCanaries, assertNoCanaries, type CanaryHit, type CanaryOptions } from './canaries.ts';
export {
  checkPartnerHoldings,
  holdingsProblems,
  assertHoldingsAllowed,
  type HoldingsByPartner,
  type HoldingsOptions,
  type PartnerHoldingsReport,
} from './holdings.ts';
export type { Holding, PartnerEmulator } from '../emulator.ts';
export type { FaultConfig, FaultSpec, RequestLogEntry } from '../sandbox/index.ts';
