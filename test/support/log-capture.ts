import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** A real pino logger whose output the test can read back. */
export function capturedLogger(): { logger: Logger; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), text: () => chunks.join('') };
}
