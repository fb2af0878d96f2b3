/**
 * Exponential moving average with TensorBoard's and W&B's debiasing: each point is the weighted mean of those before
 * it, weight `weight`^age, so the first points are not pulled toward zero. `weight` 0 leaves the points as they are.
 */
export function smooth(points: readonly { x: number; y: number }[], weight: number): { x: number; y: number }[] {
  let last = 0;
  let norm = 0;
  return points.map(({ x, y }) => {
    if (!Number.isFinite(y)) return { x, y };
    last = last * weight + (1 - weight) * y;
    norm = norm * weight + (1 - weight);
    return { x, y: last / norm };
  });
}
