import { MATMUL_VARIANTS, type MatmulVariant, type ScalarVariant } from '../ops/matmul';
import type { GpuBackend } from './backend';

/** The verdict per adapter, so a page or process that opens the device again does not time it again. */
const verdicts = new Map<string, { variant: MatmulVariant; fallback: ScalarVariant; gflops: Record<string, number> }>();

/** GFLOP/s of `backend`'s current matmul variant on n³, timed over `reps` products ended by a 16-byte readback. */
export async function matmulGflops(backend: GpuBackend, n: number, reps: number): Promise<number> {
  const a = backend.upload(
    Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 13 - 0.5),
    [n, n],
  );
  const b = backend.upload(
    Float32Array.from({ length: n * n }, (_, i) => ((i * 5) % 11) / 11 - 0.5),
    [n, n],
  );
  const tick = async (c: ReturnType<GpuBackend['matmul']>) => {
    await backend.rt.read([{ buffer: (c as unknown as { buffer: GPUBuffer }).buffer, bytes: 16 }]);
    backend.release(c);
  };
  await tick(backend.matmul(a, b)); // compiles the pipeline outside the timing
  const t0 = performance.now();
  const outs = Array.from({ length: reps }, () => backend.matmul(a, b));
  await tick(outs[outs.length - 1]);
  const seconds = (performance.now() - t0) / 1000;
  for (const c of outs.slice(0, -1)) backend.release(c);
  backend.release(a);
  backend.release(b);
  return (2 * n ** 3 * reps) / seconds / 1e9;
}

/**
 * Times every matmul variant on a layer-sized product and keeps the fastest: software adapters favour register
 * tiling (barriers are slow there), real GPUs a shared-memory tile whose best shape differs by vendor.
 */
export async function tuneMatmul(backend: GpuBackend) {
  const known = verdicts.get(backend.adapter);
  if (known) {
    backend.matmulVariant = known.variant;
    backend.matmulFallback = known.fallback;
    return known;
  }
  const n = backend.gpu.software ? 256 : 1024;
  const gflops: Record<string, number> = {};
  for (const variant of MATMUL_VARIANTS) {
    backend.matmulVariant = variant;
    gflops[variant] = await matmulGflops(backend, n, backend.gpu.software ? 2 : 8);
  }
  const fastest = <V extends MatmulVariant>(vs: readonly V[]) => vs.reduce((best, v) => (gflops[v] > gflops[best] ? v : best));
  const verdict = { variant: fastest(MATMUL_VARIANTS), fallback: fastest(['register', 'tiled'] as const), gflops };
  backend.matmulVariant = verdict.variant;
  backend.matmulFallback = verdict.fallback;
  verdicts.set(backend.adapter, verdict);
  return verdict;
}
