/**
 * `npm run bench:profile [pglite|postgres]`: the profile part of the benchmark alone (the 1a workload
 * at BENCH_PROFILE_SUBJECTS under the V8 CPU profiler, see profile.ts). Prints the top of the profile
 * as markdown and keeps the .cpuprofile (BENCH_PROFILE_FILE, default in the temp directory).
 * Default engine: PostgreSQL when PARTNER_GATEWAY_BENCH_DATABASE_URL or ..._TEST_DATABASE_URL is set.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { postgresUrl, type Engine } from './common.ts';
import { profileMarkdown, profileOverhead } from './profile.ts';

const engine = (process.argv[2] ?? (postgresUrl() ? 'postgres' : 'pglite')) as Engine;
if (engine !== 'pglite' && engine !== 'postgres') throw new Error(`unknown engine ${engine}: pglite or postgres`);
const file = resolve(
  process.env.BENCH_PROFILE_FILE ?? join(tmpdir(), `partner-gateway-bench-overhead-${engine}.cpuprofile`),
);
const result = await profileOverhead(engine, file);
process.stdout.write(`${profileMarkdown(engine, result).join('\n')}\n`);
process.exit(0);
