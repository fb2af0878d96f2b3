/** A worker below this reputation is quarantined: no more work, its open results recomputed. */
export const QUARANTINE_BELOW = 0.2;

/**
 * Reputation in [0, 1]: every refusal or outlier halves it, every good contribution closes a tenth of the gap to 1.
 * Three strikes in a row quarantine a worker in good standing; an honest worker's rare outlier is soon forgotten.
 */
export function nextReputation(current: number, event: 'good' | 'bad'): number {
  return event === 'good' ? current + 0.1 * (1 - current) : current * 0.5;
}
