/**
 * Where the CLI's log lines go. A service command (the worker) watched on a terminal gets them
 * pretty-printed (pino-pretty: time, level, message, then the fields); anywhere else, a pipe, a file,
 * a container's log collector, they stay JSON lines, one per event, which is what those read.
 */
import { isatty } from 'node:tty';
import { createRequire } from 'node:module';
import { pino, type DestinationStream } from 'pino';
import type PinoPretty from 'pino-pretty';

export interface LogTarget {
  /** 1 for stdout (services), 2 for stderr (one-off commands). */
  readonly fd: 1 | 2;
  /** Pretty-print. Default: when fd is a terminal. */
  readonly pretty?: boolean;
  /** Write here instead of the file descriptor (tests). */
  readonly stream?: NodeJS.WritableStream;
}

/** PARTNER_GATEWAY_LOG_FORMAT: `json` or `pretty` forces one; unset, the terminal decides. */
export function logFormat(value: string | undefined): { pretty?: boolean } {
  if (value === undefined || value === '') return {};
  if (value === 'json') return { pretty: false };
  if (value === 'pretty') return { pretty: true };
  throw new Error(`PARTNER_GATEWAY_LOG_FORMAT ${JSON.stringify(value.slice(0, 40))} is not one of json, pretty`);
}

export function logDestination(target: LogTarget): DestinationStream {
  const pretty = target.pretty ?? isatty(target.fd);
  if (!pretty)
    return target.stream ? (target.stream as DestinationStream) : pino.destination({ dest: target.fd, sync: true });
  // Loaded only on a terminal: JSON output does not pay for the prettifier.
  const prettyFactory = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return prettyFactory({
    destination: target.stream ?? target.fd,
    sync: true,
    colorize: target.stream ? false : isatty(target.fd),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
  });
}
