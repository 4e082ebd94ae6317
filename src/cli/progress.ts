/**
 * Progress of queued work per partner: done, retrying (waiting out a backoff) and dead (out of
 * retries) counted apart, so a job waiting for its retry never shows as done. A cli-progress bar per
 * partner on a terminal, a line per change otherwise (logs, CI), nothing with --json or --quiet.
 */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

export interface PartnerCounts {
  readonly done: number;
  readonly retrying: number;
  readonly dead: number;
}

export interface PartnerProgress {
  update(counts: Readonly<Record<string, PartnerCounts>>): void;
  stop(): void;
}

export function partnerProgress(
  totals: Readonly<Record<string, number>>,
  options: { silent: boolean; label: string },
): PartnerProgress {
  const partners = Object.keys(totals).filter((p) => (totals[p] ?? 0) > 0);
  if (options.silent || partners.length === 0) return { update: () => undefined, stop: () => undefined };
  const width = Math.max(...partners.map((p) => p.length));
  const clamp = (p: string, n: number) => Math.max(0, Math.min(totals[p] ?? 0, n));
  const zero: PartnerCounts = { done: 0, retrying: 0, dead: 0 };

  if (process.stderr.isTTY) {
    const multibar = new MultiBar(
      {
        format: `{partner} [{bar}] {value}/{total} done, {retrying} retrying, {dead} dead`,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        stream: process.stderr,
      },
      Presets.shades_classic,
    );
    const bars = new Map<string, SingleBar>(
      partners.map((p) => [p, multibar.create(totals[p] ?? 0, 0, { partner: p.padEnd(width), retrying: 0, dead: 0 })]),
    );
    return {
      update: (counts) => {
        for (const [p, bar] of bars) {
          const c = counts[p] ?? zero;
          bar.update(clamp(p, c.done), { retrying: c.retrying, dead: c.dead });
        }
      },
      stop: () => multibar.stop(),
    };
  }

  const last = new Map<string, { text: string; at: number }>();
  return {
    update: (counts) => {
      const now = Date.now();
      for (const p of partners) {
        const c = counts[p] ?? zero;
        const text = `${clamp(p, c.done)}/${totals[p]} done, ${c.retrying} retrying, ${c.dead} dead`;
        const previous = last.get(p);
        const settled = clamp(p, c.done) + c.dead >= (totals[p] ?? 0);
        if (previous && (previous.text === text || (!settled && now - previous.at < 1_000))) continue;
        if (!previous && c.done + c.retrying + c.dead === 0) continue;
        last.set(p, { text, at: now });
        process.stderr.write(`${options.label} ${p.padEnd(width)} ${text}\n`);
      }
    },
    stop: () => undefined,
  };
}
