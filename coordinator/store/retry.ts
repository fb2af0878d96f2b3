/** Errors a restart or a busy database gives, after which the same transaction may simply be tried again. */
const TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'PROTOCOL_CONNECTION_LOST',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'SQLITE_BUSY',
]);

export const isTransient = (e: unknown): boolean => {
  const err = e as { code?: string; cause?: unknown; errors?: unknown[] } | null;
  if (!err) return false;
  if (err.code && TRANSIENT.has(err.code)) return true;
  if (/closed state|connection lost|server has gone away/i.test(String((err as Error).message ?? ''))) return true; // mysql2 on a dead pooled connection
  return isTransient(err.cause) || (err.errors ?? []).some(isTransient); // AggregateError from a pool's connect
};

/**
 * Run `attempt` until it succeeds, retrying transient database errors with backoff for up to `budgetMs` (a MariaDB
 * restart takes seconds). Anything else, or a database still gone after the budget, is thrown.
 */
export async function withRetry<T>(attempt: () => Promise<T>, onRetry: (e: unknown, n: number) => void = () => {}, budgetMs = 30_000): Promise<T> {
  const start = Date.now();
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (!isTransient(e) || Date.now() - start > budgetMs) throw e;
      onRetry(e, n);
      await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** n)));
    }
  }
}
