import { pino, type Level, type Logger } from 'pino';
import { createGateway, type Gateway, type GatewayOptions } from '../gateway.ts';
import type { GatewaySecrets } from '../keys.ts';

/** createGateway()'s options, with what a test rarely cares about made optional. */
export interface TestGatewayOptions extends Omit<GatewayOptions, 'database' | 'secrets' | 'logger'> {
  /** Default: embedded PGlite in memory, started from the migrated template (fast after the first). */
  readonly database?: GatewayOptions['database'];
  /** Default: a fixed test key. Never use it outside tests. */
  readonly secrets?: GatewaySecrets;
  /** A logger of your own; when given, logLevel is ignored. */
  readonly logger?: Logger;
  /** Default: PARTNER_GATEWAY_LOG_LEVEL, else `warn`, so a passing suite prints no line per transfer. */
  readonly logLevel?: Level | 'silent';
}

export const testSecrets: GatewaySecrets = { pseudonymKey: 'partner-gateway-test-key-not-a-secret' };

/** The logger test gateways get: quiet (`warn`) unless PARTNER_GATEWAY_LOG_LEVEL or `level` asks for more. */
export function testLogger(level?: Level | 'silent'): Logger {
  return pino({ name: 'partner-gateway', level: level ?? (process.env.PARTNER_GATEWAY_LOG_LEVEL || 'warn') });
}

/**
 * A gateway for a host's tests: in memory, with a test key and a quiet logger unless told otherwise.
 * Everything else is createGateway()'s, so the test runs the code production runs.
 */
export function createTestGateway(options: TestGatewayOptions): Promise<Gateway> {
  const { logLevel, logger, database, secrets, ...rest } = options;
  return createGateway({
    ...rest,
    database: database ?? { memory: true },
    secrets: secrets ?? testSecrets,
    logger: logger ?? testLogger(logLevel),
  });
}
