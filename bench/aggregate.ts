import { aggregate } from '../coordinator/aggregate';

/** Combine 64 fp32 gradients of 1M elements; compare with memcpy of the same bytes measured in this run. */
export async function benchAggregate() {
  const parts = 64;
  const n = 1 << 20;
  const grads = Array.from({ length: parts }, (_, i) => ({ values: Float32Array.from({ length: n }, (_, j) => ((i * 7 + j) % 13) - 6), samples: 32 + i }));
  const out = new Float32Array(n);
  const bytes = parts * n * 4;
  const copyDst = new Float32Array(n);

  const time = (f: () => void, reps: number) => {
    f();
    const best: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = process.hrtime.bigint();
      f();
      best.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    return Math.min(...best);
  };
  // memcpy baseline: copy every input gradient once (the least any combination must read).
  const memcpy = time(() => {
    for (const g of grads) copyDst.set(g.values);
  }, 7);
  const agg = time(() => aggregate(grads, 'mean', 0, out), 7);
  const gbps = (s: number) => bytes / s / 1e9;
  console.log(`aggregate: ${parts} x ${n} fp32 -> ${gbps(agg).toFixed(2)} GB/s read (${(agg * 1000).toFixed(1)} ms)`);
  console.log(`memcpy:    ${gbps(memcpy).toFixed(2)} GB/s (TypedArray.set, same bytes, same run)`);
  console.log(`ratio aggregate/memcpy: ${(memcpy / agg).toFixed(2)} (target >= 0.5)`);
}
