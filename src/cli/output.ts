/** Writing to stdout: JSON for machines, aligned tables and plain lines for people. */

/** Resolves when the chunk is handed to the OS; waits for 'drain' when the pipe is full. */
export function write(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = process.stdout.write(text, (error) => (error ? reject(error) : undefined));
    if (ok) resolve();
    else process.stdout.once('drain', () => resolve());
  });
}

export function line(text = ''): Promise<void> {
  return write(`${text}\n`);
}

let quiet = false;

/** --quiet: informational lines (what was done, counts) are left out; data and errors are not. */
export function setQuiet(value: boolean): void {
  quiet = value;
}

/** A line that tells what happened, for people; --quiet leaves it out. */
export function info(text: string): Promise<void> {
  return quiet ? Promise.resolve() : line(text);
}

export function printJson(value: unknown): Promise<void> {
  return write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
}

/** Dates as ISO strings, bigints as strings. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export type Cell = string | number | boolean | null | undefined | Date;

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return '-';
  if (cell instanceof Date) return cell.toISOString();
  return String(cell);
}

/** An aligned plain-text table; numbers are right-aligned. */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => row.map(cellText));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((row) => (row[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'));
  const format = (cells: readonly string[], header: boolean) =>
    cells
      .map((cell, i) => (numeric[i] && !header ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [format(headers, true), ...text.map((row) => format(row, false))].join('\n');
}

/** Flushes stdout before the process exits. */
export function flushStdout(): Promise<void> {
  return new Promise((resolve) => process.stdout.write('', () => resolve()));
}
