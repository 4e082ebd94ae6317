import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/loaded-sdks.ts', import.meta.url));

/** In a fresh process, so nothing an earlier test imported counts. */
async function loadedSdks(...using: string[]) {
  const { stdout } = await run(process.execPath, ['--disable-warning=ExperimentalWarning', fixture, ...using]);
  return JSON.parse(stdout) as { afterImport: string[]; afterCreate: string[]; afterUse: string[] };
}

describe('partner SDKs load lazily', () => {
  it('importing the adapters and creating all seven loads no SDK; using two loads those two', async () => {
    expect(await loadedSdks('stripe', 'auth0')).toEqual({
      afterImport: [],
      afterCreate: [],
      afterUse: ['auth0', 'stripe'],
    });
  });

  it('each SDK partner loads its own SDK only; Mailchimp (REST through the capped client) loads none', async () => {
    expect((await loadedSdks('twilio', 'mailchimp', 'elogistik')).afterUse).toEqual(['twilio']);
  });
});
