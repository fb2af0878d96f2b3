import { pino } from 'pino';

export type Level = 'debug' | 'info' | 'warn' | 'error';

/** Fields that may hold a secret, wherever a caller puts them: never written out. */
const REDACTED = ['authorization', 'token', 'headers.authorization', '*.authorization', '*.token'];

/**
 * Structured JSON lines on stdout through pino: one object per event with `t`, `level` (its name) and `msg`, the
 * event's fields beside them, tokens and authorization headers redacted. `write` replaces stdout (tests).
 */
export function createLogger(min: Level = (process.env.LOG_LEVEL as Level) || 'info', write?: (s: string) => unknown) {
  const logger = pino(
    {
      level: min,
      base: undefined,
      messageKey: 'msg',
      timestamp: () => `,"t":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED, censor: '[redacted]' },
    },
    write ? { write } : pino.destination({ dest: 1, sync: true }),
  );
  const at =
    (level: Level) =>
    (msg: string, fields: Record<string, unknown> = {}) =>
      logger[level](fields, msg);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
export type Logger = ReturnType<typeof createLogger>;

/** An error's message for a log field, bounded (a database error can quote a whole statement). */
export const errorText = (e: unknown) => String((e as Error)?.message ?? e).slice(0, 1000);
