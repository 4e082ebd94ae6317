/**
 * Gateways made with partner-gateway/testing keep a host's test output clean: nothing below `warn`
 * unless PARTNER_GATEWAY_LOG_LEVEL or logLevel asks. Run in a child process, because pino writes to
 * file descriptor 1 directly, past anything a test could hook in this process.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const testingModule = new URL('../../src/testing/index.ts', import.meta.url).pathname;

function withoutLogLevel(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { PARTNER_GATEWAY_LOG_LEVEL: _level, ...rest } = env;
  return rest;
}

async function runTransfer(options: { env?: Record<string, string>; logLevel?: string } = {}): Promise<string> {
  const script = `
    import { createTestGateway, startTestPartners, MemorySource, canaryRecord } from ${JSON.stringify(testingModule)};
    const partners = await startTestPartners({ partners: ['stripe'] });
    const gateway = await createTestGateway({
      adapters: partners.adapters(),
      source: new MemorySource([canaryRecord(1)]),
      ${options.logLevel ? `logLevel: ${JSON.stringify(options.logLevel)},` : ''}
    });
    await gateway.changed('subj-1');
    await gateway.runUntilIdle();
    const held = Object.keys(partners.holdings('stripe')).length;
    await gateway.stop();
    await partners.stop();
    process.stderr.write('held=' + held + '\\n');`;
  const child = await promisify(execFile)(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script],
    { env: { ...withoutLogLevel(process.env), ...options.env } },
  );
  expect(child.stderr).toContain('held=1');
  return child.stdout;
}

describe('createTestGateway', () => {
  it('prints nothing for a successful transfer by default', async () => {
    expect(await runTransfer()).toBe('');
  }, 60_000);

  it('logs at the level PARTNER_GATEWAY_LOG_LEVEL or logLevel asks for', async () => {
    const fromEnv = await runTransfer({ env: { PARTNER_GATEWAY_LOG_LEVEL: 'info' } });
    expect(fromEnv).toMatch(/"partner":"stripe"/);
    const fromOption = await runTransfer({ logLevel: 'info' });
    expect(fromOption).toMatch(/"partner":"stripe"/);
  }, 120_000);
});
