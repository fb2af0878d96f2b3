import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { Contribution } from './aggregate';
import { weightedSumRange } from './simd.mjs';

/** Float32Array over shared memory, so aggregation threads read contributions without copies. */
export const sharedFloat32 = (n: number): Float32Array => new Float32Array(new SharedArrayBuffer(n * 4));

/**
 * Multiply-adds (parts x elements) below which the mean is summed on the calling thread: handing ranges to threads
 * costs more than it saves there (a one-part mean of the 235k-parameter MLP took 5.6 ms through the pool in a round
 * close on these 2 cores, well under 1 ms inline).
 */
const MIN_PARALLEL_WORK = 1 << 21;

/**
 * The weighted mean split by coordinate range across a piscina thread pool plus the calling thread. Every range is
 * summed in shard order, so the result is bit-identical to the single-threaded one. Each call owns its tasks, so
 * overlapping calls (two jobs closing a round together) cannot see each other's completions; a range whose thread
 * dies is recomputed here.
 */
export class AggregationPool {
  private readonly pool?: Piscina;
  private readonly threads: number;

  constructor(threads = Math.min(3, availableParallelism() - 1)) {
    this.threads = Math.max(0, threads);
    if (this.threads > 0)
      this.pool = new Piscina({
        filename: new URL('./weighted-sum-thread.cjs', import.meta.url).href,
        minThreads: this.threads,
        maxThreads: this.threads,
        idleTimeout: 60_000,
      });
  }

  /** The mean weighted by sample counts. */
  mean(parts: Contribution[], out: Float32Array): Promise<Float32Array> {
    const total = parts.reduce((s, p) => s + p.samples, 0);
    return this.weightedSum(
      parts.map((p) => p.values),
      parts.map((p) => p.samples / total),
      out,
    );
  }

  /** out = sum of weights[i] * grads[i], in order. */
  async weightedSum(grads: Float32Array[], weights: number[], out: Float32Array): Promise<Float32Array> {
    const shared = out.buffer instanceof SharedArrayBuffer && grads.every((g) => g.buffer instanceof SharedArrayBuffer);
    if (!shared || !this.pool || grads.length * out.length < MIN_PARALLEL_WORK) {
      weightedSumRange(out, grads, weights, 0, out.length);
      return out;
    }
    const step = Math.ceil(out.length / (this.threads + 1) / 2048) * 2048;
    const ranges = Array.from({ length: this.threads }, (_, i) => [(i + 1) * step, Math.min(out.length, (i + 2) * step)] as const).filter(([s, e]) => s < e);
    const pool = this.pool;
    const tasks = ranges.map(([start, end]) => pool.run({ out, grads, weights, start, end }).catch(() => weightedSumRange(out, grads, weights, start, end)));
    weightedSumRange(out, grads, weights, 0, Math.min(out.length, step));
    await Promise.all(tasks);
    return out;
  }

  /** Terminate every thread now (piscina starts new ones); tests use it to check a crash loses nothing. */
  async killThreadsForTest() {
    await Promise.all((this.pool?.threads ?? []).map((t) => t.terminate()));
  }

  async close() {
    await this.pool?.destroy();
  }
}
