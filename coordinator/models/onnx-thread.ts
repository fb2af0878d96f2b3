import { Piscina } from 'piscina';

/**
 * One onnxruntime-node thread (onnx-tasks.ts: evaluations, reference gradients, recomputed shards and outputs),
 * started when first used, so the coordinator's own model runs never hold its event loop.
 */
export const onnxThread = () =>
  new Piscina({ filename: new URL('./onnx-thread-entry.cjs', import.meta.url).href, minThreads: 0, maxThreads: 1, idleTimeout: 60_000 });
