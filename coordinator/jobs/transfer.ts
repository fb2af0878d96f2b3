import type { Store } from '../store/index';

interface Bytes {
  up: number;
  down: number;
}

/**
 * Bytes each worker and each job moved, counted where they cross the wire (socket messages and frames, parameter,
 * data and model downloads) and added to the store's running totals every second, not one write per frame.
 */
export class TransferLedger {
  private workers = new Map<string, Bytes>();
  private jobs = new Map<number, Bytes>();

  /** `counted` is told of each job's bytes as they cross (the per-job Prometheus counter). */
  constructor(private readonly counted: (direction: keyof Bytes, bytes: number, jobId: number) => void = () => {}) {}

  /** `bytes` went to (`down`) or came from (`up`) the worker `workerId`, for the job `jobId` when there is one. */
  add(direction: keyof Bytes, bytes: number, workerId?: string, jobId?: number) {
    if (workerId !== undefined) bump(this.workers, workerId, direction, bytes);
    if (jobId !== undefined) {
      bump(this.jobs, jobId, direction, bytes);
      this.counted(direction, bytes, jobId);
    }
  }

  /** A job's bytes counted here and not yet in the store, taken out to be recorded with its round's close. */
  take(jobId: number): Bytes {
    const b = this.jobs.get(jobId) ?? { up: 0, down: 0 };
    this.jobs.delete(jobId);
    return b;
  }

  async flush(store: Store) {
    const [workers, jobs] = [this.workers, this.jobs];
    this.workers = new Map();
    this.jobs = new Map();
    for (const [id, b] of workers) await store.addTransfer('workers', id, b.up, b.down);
    for (const [id, b] of jobs) await store.addTransfer('jobs', id, b.up, b.down);
  }
}

function bump<K>(m: Map<K, Bytes>, key: K, direction: keyof Bytes, bytes: number) {
  const b = m.get(key) ?? { up: 0, down: 0 };
  b[direction] += bytes;
  m.set(key, b);
}

/** Samples in accepted results over a sliding minute: the grid's throughput as the status line shows it. */
export class RecentSamples {
  private readonly recent: { at: number; samples: number }[] = [];

  add(samples: number, at: number) {
    this.recent.push({ at, samples });
    this.trim(at);
  }

  /** Samples per second over the last minute before `now`. */
  perSecond(now: number): number {
    this.trim(now);
    return this.recent.reduce((n, r) => n + r.samples, 0) / 60;
  }

  private trim(now: number) {
    while (this.recent.length && this.recent[0].at <= now - 60_000) this.recent.shift();
  }
}
