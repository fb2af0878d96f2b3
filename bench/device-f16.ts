import { GpuBackend } from '../kernels/gpu/backend';
import type { GpuHandle } from '../kernels/gpu/device';
import type { GpuRuntime } from '../kernels/gpu/runtime';
import { matmulF16, VEC4_TILES, type Vec4Variant } from '../kernels/ops/matmul';
import { f16Config, subgroupMatmul } from '../kernels/ops/matmul-subgroup';
import { f16ToF32, f32ToF16 } from '../protocol/half';

/** Seconds per call of `enqueue` over `reps` calls, after one that compiles; a 16-byte readback ends each timing. */
async function secondsPer(rt: GpuRuntime, out: GPUBuffer, reps: number, enqueue: () => void) {
  enqueue();
  await rt.read([{ buffer: out, bytes: 16 }]);
  // At least a fifth of a second: a GPU's clocks take that long to rise from idle.
  const t0 = performance.now();
  let done = 0;
  while (done < reps || performance.now() - t0 < 200) {
    for (let i = 0; i < reps; i++) enqueue();
    await rt.read([{ buffer: out, bytes: 16 }]);
    done += reps;
  }
  return (performance.now() - t0) / 1000 / done;
}

/** Worst error of C at 512 sampled entries against the f64 product of the f16-rounded inputs, relative to C's scale. */
function sampledError(c: Float32Array, a: Float32Array, b: Float32Array, n: number) {
  let worst = 0;
  let scale = 0;
  for (let s = 0; s < 512; s++) {
    const i = (s * 7919) % n;
    const j = (s * 104729) % n;
    let want = 0;
    for (let k = 0; k < n; k++) want += a[i * n + k] * b[k * n + j];
    worst = Math.max(worst, Math.abs(c[i * n + j] - want));
    scale = Math.max(scale, Math.abs(want));
  }
  return worst / scale;
}

/**
 * f16 operands, f32 sums: our vec4 tiles, or the adapter's matrix units where Dawn exposes subgroup matrices (run
 * last: an experimental shader that loses the device takes nothing else down with it).
 */
export async function halfMatmuls(gpu: GpuHandle, n: number, kernels: 'tiles' | 'subgroup-matrix') {
  if (!gpu.features.includes('shader-f16')) return console.log('matmul f16: adapter has no shader-f16');
  const rt = new GpuBackend(gpu).rt;
  let seed = 7;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed / 2 ** 32) * 2 - 1;
  };
  const [ah, bh] = [
    Uint16Array.from(Float32Array.from({ length: n * n }, rand), f32ToF16),
    Uint16Array.from(Float32Array.from({ length: n * n }, rand), f32ToF16),
  ];
  const [a, b] = [Float32Array.from(ah, f16ToF32), Float32Array.from(bh, f16ToF32)];
  const bufA = rt.acquire(ah.byteLength, 'a16');
  const bufB = rt.acquire(bh.byteLength, 'b16');
  const out = rt.acquire(n * n * 4, 'c');
  rt.write(bufA, ah);
  rt.write(bufB, bh);
  const flops = 2 * n ** 3;
  const reps = gpu.software ? 2 : Math.round(2 * (4096 / n) ** 2);
  const report = async (name: string, enqueue: () => void) => {
    const s = await secondsPer(rt, out, reps, enqueue);
    const err = sampledError(await rt.read([{ buffer: out, bytes: n * n * 4 }]), a, b, n);
    console.log(`matmul f16 ${n}^3 ${name}: ${(flops / s / 1e9).toFixed(0)} GFLOP/s, worst sampled error ${err.toExponential(1)} of scale`);
  };
  if (kernels === 'tiles') {
    for (const v of Object.keys(VEC4_TILES) as Vec4Variant[]) await report(v, () => matmulF16(rt, v, bufA, bufB, out, n, n, n));
    return;
  }
  const cfg = f16Config(gpu.subgroupMatrixConfigs);
  if (!cfg) return console.log('matmul f16 subgroup matrix: no f16 -> f32 configuration on this adapter');
  for (const tile of [
    { rows: 2, cols: 2 },
    { rows: 2, cols: 4 },
    { rows: 4, cols: 4 },
  ]) {
    try {
      await report(`subgroup matrix ${cfg.M}x${cfg.N}x${cfg.K} tile ${tile.rows}x${tile.cols}`, () =>
        subgroupMatmul(rt, cfg, tile, gpu.subgroupMaxSize, { a: bufA, b: bufB, out }, n, n, n),
      );
    } catch (e) {
      console.log(`matmul f16 subgroup matrix tile ${tile.rows}x${tile.cols}: ${(e as Error).message}`);
    }
  }
}
