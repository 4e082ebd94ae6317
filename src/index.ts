/**
 * partner-gateway: the public API. createGateway() is the composition root: it wires the policy,
 * the store, the queue and the adapters the host passes in. Adapters for the partners this project
 * ships are exported from 'partner-gateway/adapters'; the adapter contract for writing your own is
 * exported here.
 */
export { createGateway } from './gateway.ts';
export type { Gateway, GatewayOptions, GatewayStatus, GatewayHealth, PartnerStatus, DeadLetter } from './gateway.ts';
export type { RecordSource } from './source.ts';
export type { DriftFinding, DriftOptions, DriftReport } from './drift.ts';
export type { RotationLeft, RotationOptions, RotationPartnerReport, RotationReport } from './rotation/rotate.ts';
export type { MissingRecord } from './missing-records.ts';
export type { GatewayObserver, CallObservation } from './observe.ts';
export type { GatewaySecrets } from './keys.ts';
export type { DatabaseOptions } from './store/database.ts';
export type { PartnerLimits } from './transfer/rate-limit.ts';
export type { RetryPolicy } from './schedule/boss.ts';
export type { ResyncOptions, ResyncSummary, PartnerCounts, DeletionLimit, ResyncDeletions } from './resync.ts';
export type { TransferFilter, TransferRow } from './log/query.ts';
export type { VerifyResult, VerifyProblem, ProblemKind } from './log/chain.ts';
// Checkpoints of the signed log, to keep outside the database (gateway.audit.checkpoint / verify({ against })).
export { parseCheckpoints, checkpointLine, CheckpointError, CHECKPOINT_TYPE } from './log/checkpoint.ts';
export type { Checkpoint, LocatedCheckpoint } from './log/checkpoint.ts';
export { ActionRefusedError } from './transfer/action.ts';

export { parseMasterRecord, masterRecordSchema, InvalidRecordError } from './record.ts';
export type { MasterRecord, MasterRecordInput } from './record.ts';

export {
  loadPolicyFile,
  parsePolicy,
  fromDocument,
  resolvePolicy,
  defaultPolicyPath,
  PolicyError,
} from './policy/index.ts';
export {
  createMailchimpWebhookHandler,
  type MailchimpWebhookOptions,
  type NodeRequestHandler,
  type WebhookGateway,
} from './webhooks/index.ts';
export type { Policy, PolicyDocument, PartnerPolicy } from './policy/index.ts';
export { renderNotice } from './policy/notice.ts';
export { summarisePolicy } from './policy/summary.ts';

export { renderAccessReport, LifecycleInputError } from './lifecycle/index.ts';
export { erasureDueAt } from './erasure-schedule.ts';
export type {
  LifecycleHooks,
  ActorOptions,
  ConsentEntry,
  ConsentInput,
  PartnerErasureState,
  ErasureStatus,
  ErasureGap,
  ErasureGapKind,
  AccessReportPartner,
  AccessReport,
  PurgeResult,
} from './lifecycle/types.ts';

export { PartnerError, classifyHttpStatus, parseRetryAfter, assertSafeBaseUrl, safeErrorCode } from './adapter.ts';
export type {
  PartnerAdapter,
  PartnerPayload,
  SubjectRef,
  CallContext,
  UpsertInput,
  UpsertResult,
  EraseMode,
  EraseResult,
  SuppressResult,
  ActionInput,
  ActionResult,
  HeldData,
  BatchItemResult,
  PartnerErrorKind,
} from './adapter.ts';
export type {
  PartnerEmulator,
  PartnerModule,
  EmulatorRequest,
  EmulatorResponse,
  EmulatorLimits,
  Holding,
} from './emulator.ts';
