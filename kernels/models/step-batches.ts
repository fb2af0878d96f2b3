import type { Batch } from './model';

/**
 * A shard's samples as the batches of its local steps, `per` samples each (views, not copies); `seedAt(s)` seeds the
 * step that starts at sample `s`, so each step draws its own dropout masks. Workers and the coordinator's local-step
 * reference cut a shard the same way.
 */
export function stepBatches(batch: Batch, per: number, inputSize: number, seedAt: (s: number) => number): Batch[] {
  const stride = batch.targets ? batch.targets.length / batch.y.length : 0; // targets per sample
  const out: Batch[] = [];
  for (let s = 0; s < batch.y.length; s += per) {
    const targets = batch.targets?.subarray(s * stride, (s + per) * stride);
    out.push({ x: batch.x.subarray(s * inputSize, (s + per) * inputSize), y: batch.y.subarray(s, s + per), seed: seedAt(s), ...(targets && { targets }) });
  }
  return out;
}
