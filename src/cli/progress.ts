/**
 * Progress of queued work per partner: a cli-progress bar per partner on a terminal, plain lines
 * otherwise (logs, CI), nothing in --json mode.
 */
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

export interface PartnerProgress {
  /** done per partner (clamped to its total). */
  update(done: Readonly<Record<string, number>>): void;
  stop(): void;
}

export function partnerProgress(
  totals: Readonly<Record<string, number>>,
  options: { json: boolean; label: string },
): PartnerProgress {
  const partners = Object.keys(totals).filter((p) => (totals[p] ?? 0) > 0);
  if (options.json || partners.length === 0) return { update: () => undefined, stop: () => undefined };
  const width = Math.max(...partners.map((p) => p.length));
  const clamp = (p: string, n: number) => Math.max(0, Math.min(totals[p] ?? 0, n));

  if (process.stderr.isTTY) {
    const multibar = new MultiBar(
      {
        format: `{partner} [{bar}] {value}/{total}`,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        stream: process.stderr,
      },
      Presets.shades_classic,
    );
    const bars = new Map<string, SingleBar>(
      partners.map((p) => [p, multibar.create(totals[p] ?? 0, 0, { partner: p.padEnd(width) })]),
    );
    return {
      update: (done) => {
        for (const [p, bar] of bars) bar.update(clamp(p, done[p] ?? 0));
      },
      stop: () => multibar.stop(),
    };
  }

  const last = new Map<string, { done: number; at: number }>();
  return {
    update: (done) => {
      const now = Date.now();
      for (const p of partners) {
        const n = clamp(p, done[p] ?? 0);
        const previous = last.get(p);
        if (previous && (previous.done === n || (n < (totals[p] ?? 0) && now - previous.at < 1_000))) continue;
        if (!previous && n === 0) continue;
        last.set(p, { done: n, at: now });
        process.stdout.write(`${options.label} ${p.padEnd(width)} ${n}/${totals[p]}\n`);
      }
    },
    stop: () => undefined,
  };
}
