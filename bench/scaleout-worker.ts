/**
 * One worker process of the scale-out part (bench/scaleout.ts): opens the gateway on the store and
 * sandbox given as JSON in argv[2] ({ location, urls, subjects }), says `ready`, waits for a line on
 * standard input, works the queues until idle and prints `{ seconds, cpuMs }` as one JSON line.
 */
import { createInterface } from 'node:readline';
import { createGateway } from '../src/gateway.ts';
import {
  SECRETS,
  benchSource,
  engineAt,
  limitsOff,
  quietLogger,
  sandboxAdapters,
  type BenchSandbox,
} from './common.ts';

const { location, urls, subjects } = JSON.parse(process.argv[2] ?? '{}') as {
  location: string;
  urls: Record<string, string>;
  subjects: number;
};
const sandbox = { url: (partner: string) => urls[partner]! } as BenchSandbox;
const gateway = await createGateway({
  database: engineAt('postgres', location).database,
  adapters: sandboxAdapters(sandbox),
  source: benchSource(1, subjects),
  secrets: SECRETS,
  limits: limitsOff(),
  logger: quietLogger(),
});
const lines = createInterface({ input: process.stdin });
const go = new Promise<void>((resolve) => lines.once('line', () => resolve()));
process.stdout.write('ready\n');
await go;
const cpu = process.cpuUsage();
const started = performance.now();
await gateway.runUntilIdle({ timeoutMs: 600_000 });
const seconds = (performance.now() - started) / 1000;
const used = process.cpuUsage(cpu);
await gateway.stop();
process.stdout.write(`${JSON.stringify({ seconds, cpuMs: (used.user + used.system) / 1000 })}\n`);
lines.close();
process.exit(0);
