/**
 * The worker's log lines: pretty on a terminal, JSON lines anywhere else (a pipe, a file, a log
 * collector). The terminal case runs under a real pseudo-terminal (util-linux `script`).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { logDestination } from '../../src/cli/log-destination.ts';

const moduleUrl = new URL('../../src/cli/log-destination.ts', import.meta.url).href;

function written(pretty: boolean): string {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += String(d)));
  const log = pino({ name: 'partner-gateway', level: 'info' }, logDestination({ fd: 1, pretty, stream }));
  log.info({ partners: ['stripe'] }, 'worker started');
  return text;
}

const script = `import { pino } from 'pino';
  import { logDestination } from ${JSON.stringify(moduleUrl)};
  pino({ level: 'info' }, logDestination({ fd: 1 })).info({ partner: 'stripe' }, 'worker started');`;
const nodeArgs = ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script];

describe('log destination', () => {
  it('pretty-prints when asked: level and message first, no JSON', () => {
    const text = written(true);
    expect(text).toMatch(/INFO.*worker started/);
    expect(text).toContain('stripe');
    expect(text.trimStart().startsWith('{')).toBe(false);
  });

  it('writes JSON lines otherwise', () => {
    const line = JSON.parse(written(false)) as { msg: string; level: number; partners: string[] };
    expect(line).toMatchObject({ msg: 'worker started', level: 30, partners: ['stripe'] });
  });

  it('stays JSON on a pipe by default', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, nodeArgs);
    expect(JSON.parse(stdout)).toMatchObject({ msg: 'worker started', partner: 'stripe' });
  });

  it.runIf(existsSync('/usr/bin/script'))('pretty-prints on a terminal by default', async () => {
    const command = [process.execPath, ...nodeArgs].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
    const { stdout } = await promisify(execFile)('/usr/bin/script', ['-qec', command, '/dev/null']);
    expect(stdout).toMatch(/INFO.*worker started/);
    expect(stdout).not.toMatch(/"msg"/);
  });
});
