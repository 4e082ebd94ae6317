import { fromDocument, loadPolicyFile, type Policy } from './load.ts';
import type { PolicyDocument } from './schema.ts';

/** A policy given as a file path, a parsed document or a loaded Policy (default: config/policy.yaml). */
export function resolvePolicy(policy: string | Policy | PolicyDocument | undefined): Policy {
  if (policy === undefined) return loadPolicyFile();
  if (typeof policy === 'string') return loadPolicyFile(policy);
  if ('digest' in policy && 'document' in policy) return policy as Policy;
  return fromDocument(policy as PolicyDocument);
}
