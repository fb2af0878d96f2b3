import { Piscina } from 'piscina';

/**
 * One onnxruntime-node thread (onnx-tasks.ts: evaluations, reference gradients, recomputed shards and outputs),
 * started when first used, so the coordinator's own model runs never hold its event loop.
 */
export class OnnxThread {
  private readonly pool = new Piscina({
    filename: new URL('./onnx-thread-entry.cjs', import.meta.url).href,
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: 60_000,
  });
  private readonly running = new Set<Promise<unknown>>();

  /** Run the task `name` of onnx-tasks.ts (the evaluation when unnamed). */
  run<T>(task: object, name?: string): Promise<T> {
    const result = this.pool.run(task, name ? { name } : {}) as Promise<T>;
    this.running.add(result);
    const settled = () => void this.running.delete(result);
    result.then(settled, settled);
    return result;
  }

  /**
   * After the tasks under way: terminating the thread while onnxruntime-node runs on it can abort the whole process
   * (1 closes in 10 did, with a spot check still running). Piscina's own graceful close does not wait for tasks
   * queued while its thread is starting.
   */
  async close() {
    while (this.running.size) await Promise.allSettled([...this.running]);
    await this.pool.destroy();
  }
}
