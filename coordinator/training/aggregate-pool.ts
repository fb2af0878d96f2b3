import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type Contribution, aggregate, weightedSumRange } from './aggregate';

/** Float32Array over shared memory, so aggregation threads read contributions without copies. */
export const sharedFloat32 = (n: number): Float32Array => new Float32Array(new SharedArrayBuffer(n * 4));

const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const weightedSumRange = ${weightedSumRange.toString()};
parentPort.on('message', ({ out, grads, weights, start, end }) => {
  weightedSumRange(out, grads, weights, start, end);
  parentPort.postMessage(0);
});`;

/**
 * The weighted mean split by coordinate range across worker threads plus the calling thread. Every range is summed
 * in shard order, so the result is bit-identical to the single-threaded one.
 */
export class AggregationPool {
  private readonly workers: Worker[];

  constructor(threads = Math.min(3, availableParallelism() - 1)) {
    this.workers = Array.from({ length: Math.max(0, threads) }, () => {
      const w = new Worker(THREAD_SOURCE, { eval: true });
      w.unref();
      return w;
    });
  }

  async mean(parts: Contribution[], out: Float32Array): Promise<Float32Array> {
    const shared = out.buffer instanceof SharedArrayBuffer && parts.every((p) => p.values.buffer instanceof SharedArrayBuffer);
    if (!shared || this.workers.length === 0 || out.length < 1 << 16) return aggregate(parts, 'mean', 0, out);
    const total = parts.reduce((s, p) => s + p.samples, 0);
    const grads = parts.map((p) => p.values);
    const weights = parts.map((p) => p.samples / total);
    const slices = this.workers.length + 1;
    const step = Math.ceil(out.length / slices / 2048) * 2048;
    const jobs = this.workers.map(
      (w, i) =>
        new Promise<void>((done) => {
          w.once('message', () => done());
          w.postMessage({ out, grads, weights, start: (i + 1) * step, end: Math.min(out.length, (i + 2) * step) });
        }),
    );
    weightedSumRange(out, grads, weights, 0, Math.min(out.length, step));
    await Promise.all(jobs);
    return out;
  }

  close() {
    for (const w of this.workers) void w.terminate();
  }
}
