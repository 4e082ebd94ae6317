// The project's own tests use the same canary records and source a host's tests get.
export { canaryRecord, canariesOf, MemorySource } from '../../src/testing/records.ts';
