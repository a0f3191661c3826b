import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Paths whose values are secrets: never printed, whatever object they sit in. */
export const REDACT_PATHS = [
  'token', '*.token', '*.*.token',
  'apiKey', '*.apiKey', '*.*.apiKey',
  'password', '*.password',
  'authorization', '*.authorization', '*.*.authorization',
  '*.headers["X-API-Key"]', '*.headers["x-api-key"]', '*.*.headers["X-API-Key"]', '*.*.headers["x-api-key"]',
  '*.headers.Authorization', '*.headers.authorization', '*.*.headers.Authorization', '*.*.headers.authorization',
  'config.headers', '*.config.headers',
];

export function createLogger(level = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: 'perpdesk' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    destination ?? pino.destination(2),
  );
}

/** A silent logger for tests and tools that do not want output. */
export const silentLogger: Logger = pino({ level: 'silent' });
