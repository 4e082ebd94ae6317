/**
 * The benchmark's history (bench/history.json, committed with each RESULTS.md): every run's headline
 * figure per line, by a key that stays the same when a line is renumbered or reworded, so RESULTS.md
 * can show the previous run's figure beside the new one and a regression shows in review.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export interface HistoryFigure {
  readonly value: number;
  readonly unit: string;
  readonly status: string;
}

export interface HistoryRun {
  readonly date: string;
  readonly revision: string;
  /** Sizes and settings that make figures comparable (e.g. subjects), for the reader. */
  readonly note?: string;
  readonly engines: Readonly<Record<string, Readonly<Record<string, HistoryFigure>>>>;
}

/** Runs kept in the file: enough to see a trend, small enough to review. */
const KEEP = 20;

export function loadHistory(file: string): HistoryRun[] {
  if (!existsSync(file)) return [];
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { runs?: HistoryRun[] };
  if (!Array.isArray(parsed.runs)) throw new Error(`${file}: expected { "runs": [...] }`);
  return parsed.runs;
}

/** The latest earlier run that has a figure for this engine and key. */
export function previousFigure(
  runs: readonly HistoryRun[],
  engine: string,
  key: string,
): { run: HistoryRun; figure: HistoryFigure } | undefined {
  for (let i = runs.length - 1; i >= 0; i--) {
    const figure = runs[i]!.engines[engine]?.[key];
    if (figure) return { run: runs[i]!, figure };
  }
  return undefined;
}

export function saveHistory(file: string, runs: readonly HistoryRun[], run: HistoryRun): void {
  writeFileSync(file, `${JSON.stringify({ runs: [...runs, run].slice(-KEEP) }, null, 2)}\n`);
}
