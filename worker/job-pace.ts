/** How far a job is and when it should finish, from the progress its assignments carry: no clock on the coordinator needed. */
export interface JobProgress {
  done: number;
  total: number;
  /** Seconds to go at the pace seen since this worker first saw the job; undefined until it has moved. */
  etaS?: number;
}

/**
 * The pace of the job a worker computes for, from successive assignments' progress: (done, time) when it was first
 * seen, against the latest. A new job starts afresh.
 */
export class JobPace {
  private first?: { job: string; done: number; at: number };

  observe(job: string, progress: { done: number; total: number }, nowMs: number): JobProgress {
    if (this.first?.job !== job || progress.done < this.first.done) this.first = { job, done: progress.done, at: nowMs };
    const moved = progress.done - this.first.done;
    const seconds = (nowMs - this.first.at) / 1000;
    const etaS = moved > 0 && seconds > 0 ? ((progress.total - progress.done) * seconds) / moved : undefined;
    return { ...progress, ...(etaS === undefined ? {} : { etaS }) };
  }
}
