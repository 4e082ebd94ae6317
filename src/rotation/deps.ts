import type { Logger } from 'pino';
import type { PartnerAdapter } from '../adapter.ts';
import type { PlanDeps } from '../plan/batch.ts';
import type { Database } from '../store/database.ts';
import type { PseudonymKeyState } from '../store/key-fingerprints.ts';
import type { RecordedId } from '../transfer/log-ids.ts';
import type { Transfer } from '../transfer/transfer.ts';

/** What a pseudonym key rotation (rotate.ts) is built from: the gateway's own parts. */
export interface RotationDeps extends PlanDeps {
  readonly db: Database;
  readonly adapters: ReadonlyMap<string, PartnerAdapter>;
  readonly transfer: Transfer;
  readonly recordedId: RecordedId;
  readonly logger: Logger;
  /** The store's key state as this process works with it; the transfer path checks it per call. */
  readonly keyState: { current: PseudonymKeyState };
  readonly onErased: (subjectId: string, partner: string) => Promise<void>;
}
