/**
 * The PartnerErrors an adapter makes itself, typed so that their codes come from the contract's one
 * list (GATEWAY_ERROR_CODES). Errors carrying a partner's own code are built where the answer is read.
 */
import { PartnerError, type GatewayErrorCode, type PartnerErrorKind } from '../../src/adapter.ts';

export interface GatewayErrors {
  (
    operation: string,
    kind: PartnerErrorKind,
    code: GatewayErrorCode,
    extra?: { readonly status?: number | undefined; readonly detail?: string | undefined },
  ): PartnerError;
}

export function gatewayErrors(partner: string): GatewayErrors {
  return (operation, kind, code, extra = {}) => new PartnerError({ partner, operation, kind, code, ...extra });
}
