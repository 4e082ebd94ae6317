/**
 * Vitest setup file (vitest.config.ts setupFiles): every test that makes an adapter send a request
 * its partner's published API definition does not allow fails, naming the partner, the operation
 * and the field. Requests to fake partners (no extract) are not checked.
 */
import { afterAll, afterEach } from 'vitest';
import { installSpecCheck } from './spec-check.ts';

const check = installSpecCheck();
afterEach(() => check.assertConforming());
// Requests still arriving after a file's last test (a worker winding down) are not let off either.
afterAll(() => check.assertConforming());
