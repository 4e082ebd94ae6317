export {
  loadPolicyFile,
  parsePolicy,
  fromDocument,
  resolvePolicy,
  defaultPolicyPath,
  PolicyError,
  type Policy,
} from './load.ts';
export type {
  PolicyDocument,
  PolicyDocumentInput,
  PartnerPolicy,
  PartnerTransfer,
  CategoryPolicy,
  LegalBasis,
  RestrictionMode,
} from './schema.ts';
export { categoryFieldPaths } from './record-fields.ts';
export { OFFBOARDING_LEGAL_BASIS, OFFBOARDING_PURPOSE, isFormerPartner, withFormerPartners } from './offboarding.ts';
