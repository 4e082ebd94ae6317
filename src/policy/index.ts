export { loadPolicyFile, parsePolicy, fromDocument, defaultPolicyPath, PolicyError, type Policy } from './load.ts';
export type { PolicyDocument, PartnerPolicy, CategoryPolicy, LegalBasis } from './schema.ts';
