import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16 } from '../protocol/half';
import type { ModelSpec } from '../protocol/model';
import { GpuBackend } from './gpu/backend';
import { openDawn } from './gpu/dawn';
import type { GpuHandle } from './gpu/device';
import { tuneMatmul } from './gpu/matmul-tune';
import { DispatchProfiler } from './gpu/profiler';
import { buildModel, initParams } from './models/index';
import { sampleBatch } from './models/sample-batch';
import { MATMUL_VARIANTS, matmulF16, VEC4_TILES, type Vec4Variant } from './ops/matmul';

const random = (n: number, seed: number) => {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
};

function reference(a: Float32Array, b: Float32Array, M: number, N: number, K: number) {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) c[i * N + j] += a[i * K + k] * b[k * N + j];
  return c;
}

// Lavapipe has shader-f16 and is the adapter CI has; a real GPU runs the same file through `npm run bench -- device`.
describe('matmul on Dawn (vulkan): tile timing and f16', () => {
  let gpu: GpuHandle;
  beforeAll(async () => {
    gpu = await openDawn('vulkan');
  }, 120_000);
  afterAll(() => gpu?.device.destroy());

  it('the dispatch profiler times each program of a step, and the step gives the same gradients with it attached', async () => {
    const b = new GpuBackend(gpu, 'register');
    const spec: ModelSpec = { kind: 'mlp', layers: [12, 8, 3] };
    const model = buildModel(spec, b);
    const [params, batch] = [initParams(spec, 1), sampleBatch(spec, 5)];
    const plain = await model.lossAndGradients(params, batch);
    const profiler = new DispatchProfiler(gpu.device);
    b.rt.profiler = profiler;
    const timed = await model.lossAndGradients(params, batch);
    b.rt.profiler = null;
    const totals = await profiler.collect();
    expect(Array.from(timed.grads)).toEqual(Array.from(plain.grads));
    // Two layers: two forward products, two weight gradients and one input gradient; the hidden layer's bias and
    // activation in one pass, the logits' bias alone.
    expect(totals.get('matmul_register_f32_nn')?.count).toBe(2);
    expect((totals.get('matmul_register_f32_tn')?.count ?? 0) + (totals.get('matmul_register_f32_nt')?.count ?? 0)).toBe(3);
    expect([totals.get('bias_act_relu')?.count, totals.get('bias_add')?.count, totals.get('act_relu')?.count]).toEqual([1, 1, undefined]);
    for (const { ns } of totals.values()) expect(ns).toBeGreaterThanOrEqual(0);
  });

  it('times every variant once per adapter and keeps the fastest', async () => {
    const backend = new GpuBackend(gpu);
    const first = await tuneMatmul(backend);
    console.log(`matmul tiles on ${backend.adapter}: ${JSON.stringify(first)}`);
    expect(Object.keys(first.gflops).length).toBeGreaterThanOrEqual(4);
    for (const v of Object.keys(first.gflops)) expect(MATMUL_VARIANTS).toContain(v);
    for (const g of Object.values(first.gflops)) expect(g).toBeGreaterThan(0);
    expect(first.gflops[first.variant]).toBe(Math.max(...Object.values(first.gflops)));
    expect(backend.matmulVariant).toBe(first.variant);
    const again = new GpuBackend(gpu, 'register');
    expect(await tuneMatmul(again)).toEqual(first);
    expect(again.matmulVariant).toBe(first.variant);
    expect(again.matmulFallback).toBe(first.fallback);
    expect(first.fallback.startsWith('vec4')).toBe(false);
  });

  it("keeps its verdict in the worker's cache: a kept one is used untimed, one this build cannot use is timed again", async () => {
    const kept = new Map<string, Uint8Array>();
    const cache = { get: async (k: string) => kept.get(k), put: async (k: string, v: Uint8Array) => void kept.set(k, v) };
    const backend = new GpuBackend(gpu);
    const [key] = await tuneMatmul(backend, cache).then(() => [...kept.keys()]);
    expect(key).toContain(backend.adapter);
    // A page reloaded (or a worker restarted) on this adapter: the kept verdict, not a new timing (gflops says which).
    const planted = { variant: 'tiled', fallback: 'tiled', gflops: { tiled: 1 } };
    kept.set(key, new TextEncoder().encode(JSON.stringify(planted)));
    const reopened = new GpuBackend(gpu, 'register');
    expect(await tuneMatmul(reopened, cache)).toEqual(planted);
    expect([reopened.matmulVariant, reopened.matmulFallback]).toEqual(['tiled', 'tiled']);
    // Garbled, or naming a variant an older build had: timed again, and the new verdict kept.
    for (const bad of ['{not json', JSON.stringify({ ...planted, variant: 'gone-64x64' }), 'null']) {
      kept.set(key, new TextEncoder().encode(bad));
      const verdict = await tuneMatmul(new GpuBackend(gpu), cache);
      expect(Object.keys(verdict.gflops).length).toBeGreaterThanOrEqual(4);
      expect(JSON.parse(new TextDecoder().decode(kept.get(key)))).toEqual(verdict);
    }
  }, 120_000);

  it('f16 operands with f32 sums: the f32 product of the rounded inputs within 1e-5, the unrounded within 2^-8 of scale', async () => {
    expect(gpu.features).toContain('shader-f16');
    const backend = new GpuBackend(gpu);
    const [M, N, K] = [132, 196, 260]; // multiples of 4, of no tile
    const a = random(M * K, 1);
    const b = random(K * N, 2);
    const [ah, bh] = [Uint16Array.from(a, f32ToF16), Uint16Array.from(b, f32ToF16)];
    const rounded = reference(Float32Array.from(ah, f16ToF32), Float32Array.from(bh, f16ToF32), M, N, K);
    const exact = reference(a, b, M, N, K);
    const scale = Math.max(...exact.map(Math.abs));
    const bufA = backend.rt.acquire(ah.byteLength, 'a16');
    const bufB = backend.rt.acquire(bh.byteLength, 'b16');
    backend.rt.write(bufA, ah);
    backend.rt.write(bufB, bh);
    for (const variant of Object.keys(VEC4_TILES) as Vec4Variant[]) {
      const out = backend.rt.acquire(M * N * 4, 'c');
      matmulF16(backend.rt, variant, bufA, bufB, out, M, N, K);
      const got = await backend.rt.read([{ buffer: out, bytes: M * N * 4 }]);
      let vsRounded = 0;
      let vsExact = 0;
      for (let i = 0; i < got.length; i++) {
        vsRounded = Math.max(vsRounded, Math.abs(got[i] - rounded[i]) / scale);
        vsExact = Math.max(vsExact, Math.abs(got[i] - exact[i]) / scale);
      }
      expect(vsRounded, variant).toBeLessThan(1e-5);
      expect(vsExact, variant).toBeLessThan(2 ** -8);
    }
    expect(() => matmulF16(backend.rt, 'vec4-64x64x16', bufA, bufB, bufA, 3, 4, 4)).not.toThrow();
    expect(() => matmulF16(backend.rt, 'vec4-64x64x16', bufA, bufB, bufA, 4, 5, 4)).toThrow(/multiple of 4/);
  });
});
