import { MATMUL_VARIANTS, type MatmulVariant, type ScalarVariant } from '../ops/matmul';
import type { GpuBackend } from './backend';

export interface MatmulVerdict {
  variant: MatmulVariant;
  fallback: ScalarVariant;
  gflops: Record<string, number>;
}

/** Where verdicts are kept: the worker's byte cache (IndexedDB in a page, files natively), so a reload does not time again. */
export interface VerdictCache {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, bytes: Uint8Array): Promise<void>;
}

/** This process's verdicts, for callers that keep none (tests, benches). */
const inProcess = new Map<string, Uint8Array>();
const processCache: VerdictCache = { get: async (k) => inProcess.get(k), put: async (k, v) => void inProcess.set(k, v) };

const verdictKey = (adapter: string) => `matmul-verdict:v1:${adapter}`;

/** A kept verdict, or undefined where none is kept or it names a variant this build does not have. */
async function keptVerdict(cache: VerdictCache, adapter: string): Promise<MatmulVerdict | undefined> {
  const bytes = await cache.get(verdictKey(adapter)).catch(() => undefined);
  if (!bytes) return undefined;
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as MatmulVerdict;
    const known = (x: unknown) => (MATMUL_VARIANTS as readonly unknown[]).includes(x);
    return known(v.variant) && known(v.fallback) && !String(v.fallback).startsWith('vec4') && typeof v.gflops === 'object' ? v : undefined;
  } catch {
    return undefined;
  }
}

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
  // Each product's output goes back to the pool at once, so the next reuses it: allocation stays out of the timing.
  const product = () => {
    const c = backend.matmul(a, b);
    backend.release(c);
    return (c as unknown as { buffer: GPUBuffer }).buffer;
  };
  await backend.rt.read([{ buffer: product(), bytes: 16 }]); // compiles the pipeline and allocates outside the timing
  const t0 = performance.now();
  // At least `reps` products and a fifth of a second: a GPU's clocks take that long to rise from idle.
  let done = 0;
  while (done < reps || performance.now() - t0 < 200) {
    let last = product();
    for (let i = 1; i < reps; i++) last = product();
    await backend.rt.read([{ buffer: last, bytes: 16 }]);
    done += reps;
  }
  const seconds = (performance.now() - t0) / 1000;
  backend.release(a);
  backend.release(b);
  return (2 * n ** 3 * done) / seconds / 1e9;
}

/** Software adapters compile unrolled and wide tiles slowly and never pick them: only these are timed there. */
const SOFTWARE_CANDIDATES: MatmulVariant[] = ['register', 'tiled', 'vec4-64x64x16', 'vec4-128x128x8', 'vec4-128x128x16'];

/**
 * Times every matmul variant on a layer-sized product and keeps the fastest: software adapters favour register
 * tiling (barriers are slow there), real GPUs a shared-memory tile whose best shape differs by vendor.
 */
export async function tuneMatmul(backend: GpuBackend, cache: VerdictCache = processCache): Promise<MatmulVerdict> {
  const known = await keptVerdict(cache, backend.adapter);
  if (known) {
    backend.matmulVariant = known.variant;
    backend.matmulFallback = known.fallback;
    return known;
  }
  const n = backend.gpu.software ? 256 : 2048;
  const gflops: Record<string, number> = {};
  backend.matmulVariant = 'register';
  await matmulGflops(backend, n, 2); // the clocks rise before the first variant is timed
  for (const variant of backend.gpu.software ? SOFTWARE_CANDIDATES : MATMUL_VARIANTS) {
    backend.matmulVariant = variant;
    gflops[variant] = await matmulGflops(backend, n, backend.gpu.software ? 2 : 4);
  }
  const timed = Object.keys(gflops) as MatmulVariant[];
  const fastest = <V extends MatmulVariant>(vs: readonly V[]) => vs.reduce((best, v) => (gflops[v] > gflops[best] ? v : best));
  const verdict = { variant: fastest(timed), fallback: fastest(timed.filter((v): v is ScalarVariant => !v.startsWith('vec4'))), gflops };
  backend.matmulVariant = verdict.variant;
  backend.matmulFallback = verdict.fallback;
  await cache.put(verdictKey(backend.adapter), new TextEncoder().encode(JSON.stringify(verdict))).catch(() => {}); // timed again next time
  return verdict;
}
