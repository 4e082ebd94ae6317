/**
 * The checked-in extracts of each partner's published API definition (test/fixtures/partner-specs/),
 * read on first use only: a test file that never talks to a partner pays nothing for them.
 */
import { readFileSync } from 'node:fs';

export type JsonSchema = Record<string, unknown>;

export interface SpecParameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required?: boolean;
  readonly schema?: JsonSchema;
}

export interface SpecOperation {
  readonly method: string;
  /** As the partner's document writes it, relative to the API origin, e.g. /v1/customers/{customer}. */
  readonly path: string;
  readonly operationId: string;
  readonly pointer: string;
  readonly parameters: readonly SpecParameter[];
  /** Content type -> { schema }; null: the operation takes no body. */
  readonly requestBody: Readonly<Record<string, { readonly schema: JsonSchema }>> | null;
  /** Status (or 'default') -> content type -> schema, or { 'x-error': partner } for the error format. */
  readonly responses: Readonly<Record<string, JsonSchema>>;
  /** balena (pinejs, OData): which query options and fields the resource has. */
  readonly odata?: { readonly allowedQuery: readonly string[]; readonly readFields?: readonly string[] };
  /** An empty list: the operation needs no Authorization header (Auth0's token call). */
  readonly security?: readonly unknown[];
}

export interface PartnerSpec {
  readonly partner: string;
  readonly source: Readonly<Record<string, unknown>>;
  readonly authSchemes: { readonly schemes: readonly string[] };
  readonly errorFormat: {
    readonly schema?: JsonSchema;
    readonly contentType?: string;
    readonly jsonStringOrEmpty?: boolean;
  };
  readonly operations: readonly SpecOperation[];
}

export const SPEC_PARTNERS = ['elogistik', 'mailchimp', 'stripe', 'intercom', 'twilio', 'auth0', 'resin'] as const;

const cache = new Map<string, PartnerSpec>();

/** The extract for a partner, or undefined for a name that has none (a test's fake partner). */
export function partnerSpec(partner: string): PartnerSpec | undefined {
  if (!(SPEC_PARTNERS as readonly string[]).includes(partner)) return undefined;
  let spec = cache.get(partner);
  if (spec === undefined) {
    const file = new URL(`../fixtures/partner-specs/${partner}.json`, import.meta.url);
    spec = JSON.parse(readFileSync(file, 'utf8')) as PartnerSpec;
    cache.set(partner, spec);
  }
  return spec;
}

/** "PUT /3.0/lists/{list_id}/members/{subscriber_hash}": how reports name an operation. */
export const operationName = (op: Pick<SpecOperation, 'method' | 'path'>): string => `${op.method} ${op.path}`;
