/**
 * Waits for the jobs a command enqueued, with progress that tells the truth: done, retrying and
 * dead apart (from the queue depths before and after, and in this process from the jobs the workers
 * report completed or dead-lettered). On timeout the counts are still returned, so the command prints its summary;
 * `exit` then turns what is left into the exit code (3 work left, 4 dead letters).
 */
import type { GatewayStatus, PartnerStatus } from '../index.ts';
import { CliError, EXIT_DEAD_LETTERS, EXIT_WORK_LEFT } from './errors.ts';
import type { JobTally } from './job-tally.ts';
import { QueuesNotIdle, type OpsClient } from './ops-client.ts';
import { partnerProgress, type PartnerCounts } from './progress.ts';

export interface PartnerOutcome extends PartnerCounts {
  /** Queued or running when the command stopped waiting. */
  readonly left: number;
}

export interface WorkOffResult {
  readonly perPartner: Readonly<Record<string, PartnerOutcome>>;
  readonly timedOut: boolean;
  readonly timeoutSeconds: number;
  /** What is left when the command stops waiting (for --json). */
  readonly left: Left;
  /** One line on what happened, e.g. "done: every partner is in step". */
  sentence(): string;
  /** Throws the exit code's error when anything is left (nothing when all is done). */
  exit(command: string): void;
}

/** What a command leaves behind: jobs the workers will still do, and dead letters for an operator. */
export interface Left {
  readonly queued: number;
  readonly retrying: number;
  readonly deadLetters: number;
}

export interface WorkOffOptions {
  /** Jobs enqueued per partner by this command. */
  readonly totals: Readonly<Record<string, number>>;
  /** The queues before the command enqueued anything. */
  readonly before: GatewayStatus;
  /** Jobs completed and dead-lettered in this process (the observer's count); undefined when a server works them. */
  readonly tally: Pick<JobTally, 'completed' | 'dead'> | undefined;
  readonly silent: boolean;
  readonly label: string;
  readonly timeoutMs: number;
  readonly waitForRetries: boolean;
}

const POLL_MS = 250;

export async function workOffWithProgress(ops: OpsClient, options: WorkOffOptions): Promise<WorkOffResult> {
  const before = new Map(options.before.partners.map((p) => [p.partner, p]));
  const partners = Object.keys(options.totals);
  const countsOf = (now: readonly PartnerStatus[]): Record<string, PartnerOutcome> => {
    const out: Record<string, PartnerOutcome> = {};
    for (const p of now) {
      if (!partners.includes(p.partner)) continue;
      const b = before.get(p.partner);
      const total = options.totals[p.partner] ?? 0;
      const dead = options.tally?.dead(p.partner) ?? Math.max(0, p.deadLetters - (b?.deadLetters ?? 0));
      const retrying = Math.max(0, p.retrying - (b?.retrying ?? 0));
      const left = Math.max(0, p.queued + p.active - (b ? b.queued + b.active : 0));
      const counted = options.tally?.completed(p.partner);
      const done = Math.max(0, Math.min(total, counted ?? total - left - retrying - dead));
      out[p.partner] = { done, retrying: Math.min(retrying, total), dead: Math.min(dead, total), left };
    }
    return out;
  };
  const progress = partnerProgress(options.totals, { silent: options.silent, label: options.label });
  let polling = true;
  const poller = (async () => {
    while (polling) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (polling)
        await ops.status().then(
          (s) => progress.update(countsOf(s.partners)),
          () => undefined,
        );
    }
  })();
  let timedOut = false;
  try {
    await ops.workOff({ timeoutMs: options.timeoutMs, waitForRetries: options.waitForRetries });
  } catch (error) {
    if (!(error instanceof QueuesNotIdle)) throw error;
    timedOut = true;
  } finally {
    polling = false;
    await poller;
  }
  const perPartner = countsOf((await ops.status()).partners);
  progress.update(perPartner);
  progress.stop();
  return workOffResult(perPartner, timedOut, options.timeoutMs / 1_000);
}

export function workOffResult(
  perPartner: Readonly<Record<string, PartnerOutcome>>,
  timedOut: boolean,
  timeoutSeconds: number,
): WorkOffResult {
  const sum = (k: keyof PartnerOutcome) => Object.values(perPartner).reduce((n, p) => n + p[k], 0);
  const [left, retrying, dead] = [sum('left'), sum('retrying'), sum('dead')];
  const what = () =>
    [
      left > 0 ? `${left} job(s) queued or running` : undefined,
      retrying > 0 ? `${retrying} job(s) waiting for a retry` : undefined,
      dead > 0 ? `${dead} dead letter(s) (see: partner-gateway dead-letters list)` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
  return {
    perPartner,
    timedOut,
    timeoutSeconds,
    left: { queued: left, retrying, deadLetters: dead },
    sentence: () =>
      left + retrying + dead === 0
        ? 'done: every partner is in step'
        : `${timedOut ? `stopped waiting after ${timeoutSeconds} s` : 'done'}, left: ${what()}`,
    exit: (command) => {
      if (dead > 0) throw new CliError(`${command}: ${what()}`, EXIT_DEAD_LETTERS);
      if (left + retrying > 0)
        throw new CliError(
          `${command}: ${timedOut ? `not finished after ${timeoutSeconds} s: ` : ''}${what()}; the workers go on with them`,
          EXIT_WORK_LEFT,
        );
    },
  };
}
