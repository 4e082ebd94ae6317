export { startSandbox, type Sandbox, type SandboxOptions } from './sandbox.ts';
export { serveEmulator, type ServedEmulator, type ServeOptions, type Disposition, type Exchange } from './serve.ts';
export type { FaultConfig, FaultSpec, FaultKind, UnavailableShape } from './faults.ts';
export type { PartnerInfo } from './inspect.ts';
export type { RequestLogEntry } from './request-log.ts';
export type { PartnerStats } from './stats.ts';
export { observeExchanges, type ExchangeObserver } from './exchange-observers.ts';
