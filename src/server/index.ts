/** The ops server: mount it in a host process, or run it with `partner-gateway serve` / `worker --serve`. */
export { createOpsServer, type OpsServer, type OpsServerOptions, type OpsGateway } from './ops-server.ts';
export { createOpsMetrics, type OpsMetrics } from './metrics.ts';
export {
  parseTokens,
  tokenChecker,
  TokenConfigError,
  OPS_TOKENS_VARIABLE,
  MIN_TOKEN_LENGTH,
  type OpsToken,
  type Role,
  type Caller,
} from './tokens.ts';
