import { aggregate, type Contribution } from './aggregate';

/** A worker below this reputation is quarantined: no more work, its open results recomputed. */
export const QUARANTINE_BELOW = 0.2;

/**
 * Reputation in [0, 1]: every refusal or outlier halves it, every good contribution closes a tenth of the gap to 1.
 * Three strikes in a row quarantine a worker in good standing; an honest worker's rare outlier is soon forgotten.
 */
export function nextReputation(current: number, event: 'good' | 'bad'): number {
  return event === 'good' ? current + 0.1 * (1 - current) : current * 0.5;
}

const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/**
 * Workers whose contribution to a round is an outlier against the robust aggregate: pointing away from it
 * (a sign flip), or with a norm far from the workers' median norm (a scaled gradient). Needs three workers: with
 * fewer there is no majority to stand against.
 */
export function outliers(contributions: Map<string, Contribution>, normFactor = 5): Set<string> {
  const bad = new Set<string>();
  if (contributions.size < 3) return bad;
  // Judged against the coordinate-wise median of the workers, whatever rule the job combines with: a mean the
  // outlier itself pulled would make the honest workers look like the outliers.
  const reference = aggregate([...contributions.values()], 'median');
  const norms = new Map([...contributions].map(([id, c]) => [id, Math.sqrt(dot(c.values, c.values))]));
  const sorted = [...norms.values()].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1];
  const refNorm = Math.sqrt(dot(reference, reference));
  for (const [id, c] of contributions) {
    const norm = norms.get(id) as number;
    const cosine = norm > 0 && refNorm > 0 ? dot(c.values, reference) / (norm * refNorm) : 1;
    if (cosine < 0 || norm > median * normFactor || norm * normFactor < median) bad.add(id);
  }
  return bad;
}
