/**
 * The partner sandbox in a process of its own, so the partners' clocks and event loop are not the
 * gateway's (as with real partners): a gateway blocked on its embedded database cannot make the
 * sandbox read requests late and in bunches. Started by startRemoteSandbox() in common.ts with
 * `{ limits, faults }` as JSON in argv[2]; prints `{ urls, inspectUrl }` as one JSON line; closes
 * when its standard input closes (so it never outlives the benchmark).
 */
import { partnerModules } from '../adapters/index.ts';
import { startSandbox, type FaultConfig } from '../src/sandbox/index.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as { limits?: boolean; faults?: FaultConfig };
const sandbox = await startSandbox({
  emulators: partnerModules.map((m) => m.createEmulator()),
  limits: options.limits ?? false,
  faults: options.faults ?? {},
  logLimit: 50_000,
});
process.stdout.write(`${JSON.stringify({ urls: sandbox.urls, inspectUrl: sandbox.inspectUrl })}\n`);
const close = () => void sandbox.close().finally(() => process.exit(0));
process.stdin.on('end', close);
process.stdin.on('close', close);
process.stdin.resume();
process.on('SIGTERM', close);
