import type { Backend } from '../kernels/backend';
import { kernelsEngine } from '../kernels/engine';
import { type ModelSpec, modelSpec } from '../protocol/model';
import { measure } from '../worker/engine-choice';

export const BENCH_MLP: ModelSpec = { kind: 'mlp', layers: [784, 256, 128, 10] };
export const BENCH_CNN: ModelSpec = { kind: 'cnn', input: [1, 28, 28], channels: [8, 16], kernel: 5, classes: 10 };
/** nanoGPT's "CPU" configuration and its Shakespeare one (10.7M parameters), at a 96-symbol vocabulary. */
export const BENCH_GPT = modelSpec({ kind: 'gpt', vocab: 96, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128 }, 'model') as ModelSpec;
export const BENCH_GPT_LARGE = modelSpec({ kind: 'gpt', vocab: 96, blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384 }, 'model') as ModelSpec;
/** The GPT rows of the kernels bench: name, spec, batch (sequences), tokens a sequence. */
export const GPT_ROWS = [
  ['GPT 4x128 block 64 (nanoGPT CPU)', BENCH_GPT, 12, 64],
  ['GPT 6x384 block 256 (nanoGPT, 10.7M)', BENCH_GPT_LARGE, 4, 256],
] as const;

const now = () => performance.now();

/** Training-step throughput (forward, backward, gradients read back) of one of our models on `backend`. */
export const ourStepRate = (backend: Backend, spec: ModelSpec, batch: number, seconds: number) => measure(kernelsEngine(backend), spec, seconds * 1000, batch);

/** C = A·B at n³ on `backend`, GFLOP/s, with the result read back each time. */
export async function ourMatmulGflops(backend: Backend, n: number, seconds: number) {
  const a = backend.upload(new Float32Array(n * n).fill(0.5), [n, n]);
  const b = backend.upload(new Float32Array(n * n).fill(0.25), [n, n]);
  backend.release(backend.matmul(a, b));
  await backend.read(a);
  let reps = 0;
  const t0 = now();
  while (reps < 2 || now() - t0 < seconds * 1000) {
    const c = backend.matmul(a, b);
    await backend.read(c);
    backend.release(c);
    reps++;
  }
  return (2 * n ** 3 * reps) / ((now() - t0) / 1000) / 1e9;
}
