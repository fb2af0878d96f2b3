import { aggregate } from '../coordinator/training/aggregate';
import { AggregationPool, sharedFloat32 } from '../coordinator/training/aggregate-pool';
import { adamStep, vectorStats } from '../coordinator/training/simd.mjs';

/** Combine 64 fp32 gradients of 1M elements; compare with memcpy of the same bytes measured in this run. */
export async function benchAggregate() {
  const parts = 64;
  const n = 1 << 20;
  const grads = Array.from({ length: parts }, (_, i) => {
    const values = sharedFloat32(n); // the scheduler decodes results into shared memory the same way
    for (let j = 0; j < n; j++) values[j] = ((i * 7 + j) % 13) - 6;
    return { values, samples: 32 + i };
  });
  const out = sharedFloat32(n);
  const pool = new AggregationPool();
  const bytes = parts * n * 4;
  const copyDst = new Float32Array(n);

  const time = async (f: () => unknown, reps: number) => {
    await f();
    const best: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = process.hrtime.bigint();
      await f();
      best.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    return Math.min(...best);
  };
  // memcpy baseline: copy every input gradient once (the least any combination must read).
  const memcpy = await time(() => {
    for (const g of grads) copyDst.set(g.values);
  }, 7);
  const single = await time(() => aggregate(grads, 'mean', 0, out), 7);
  const pooled = await time(() => pool.mean(grads, out), 7);
  await pool.close();
  // A result's checks (finite, bound, norm) read it once; AdamW reads four arrays and writes three.
  const one = grads[0].values;
  const checks = await time(() => vectorStats(one), 7);
  const [p, m, v] = [new Float32Array(n).fill(0.1), new Float32Array(n), new Float32Array(n)];
  const adam = { b1: 0.9, b2: 0.999, mScale: 1e-3, vScale: 1, eps: 1e-8, keep: 1, l2: 0 };
  const step = await time(() => adamStep(p, one, m, v, adam), 7);
  const perArray = memcpy / parts; // one 4 MB array copied, in this run
  const gbps = (s: number) => bytes / s / 1e9;
  console.log(`memcpy:                 ${gbps(memcpy).toFixed(2)} GB/s (TypedArray.set of the same bytes, one thread, same run)`);
  console.log(
    `aggregate, one thread:  ${gbps(single).toFixed(2)} GB/s read (${(single * 1000).toFixed(1)} ms), ratio to memcpy ${(memcpy / single).toFixed(2)}`,
  );
  console.log(
    `aggregate, thread pool: ${gbps(pooled).toFixed(2)} GB/s read (${(pooled * 1000).toFixed(1)} ms), ratio to memcpy ${(memcpy / pooled).toFixed(2)} (target >= 0.5; this is what the coordinator uses)`,
  );
  console.log(`result checks, 1M values: ${(checks * 1000).toFixed(2)} ms, ratio to copying them once ${(perArray / checks).toFixed(2)}`);
  console.log(`AdamW step, 1M parameters: ${(step * 1000).toFixed(2)} ms, ratio to copying its seven arrays once ${((7 * perArray) / step).toFixed(2)}`);
}
