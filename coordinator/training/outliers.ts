import { aggregate, type Contribution } from './aggregate';

const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/**
 * Workers whose contribution to a round is an outlier against the robust aggregate: pointing away from it
 * (a sign flip), or with a norm far from the workers' median norm (a scaled gradient). Direction needs three
 * workers, a majority to stand against; of two, one whose norm is `normFactor` times the other's is set aside, as
 * it is the one that could blow the model up (a round with two voters is common at a job's start, before any norm
 * limit from a previous round exists).
 */
export function outliers(contributions: Map<string, Contribution>, normFactor = 5): Set<string> {
  const bad = new Set<string>();
  if (contributions.size === 2) {
    const [[a, ca], [b, cb]] = [...contributions];
    const [na, nb] = [Math.sqrt(dot(ca.values, ca.values)), Math.sqrt(dot(cb.values, cb.values))];
    // A mean over fewer samples is noisier, and larger, by up to the root of the ratio: not held against it.
    const leeway = (fewer: Contribution, more: Contribution) => normFactor * Math.sqrt(Math.max(1, more.samples / Math.max(1, fewer.samples)));
    if (na > nb * leeway(ca, cb)) bad.add(a);
    else if (nb > na * leeway(cb, ca)) bad.add(b);
    return bad;
  }
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
