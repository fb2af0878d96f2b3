/**
 * Full-model vectors a worker keeps per job (error-feedback residuals, local-step optimizer state): only for the
 * few most recently used jobs, so a volunteer hopping between jobs does not accumulate them.
 */
export class PerJob<T> {
  private readonly byJob = new Map<number, T>();

  constructor(private readonly keep = 2) {}

  /** The job's value if `fits` it (same model size), else a fresh one from `make`; marked most recently used. */
  get(jobId: number, fits: (v: T) => boolean, make: () => T): T {
    return this.peek(jobId, fits) ?? this.set(jobId, make());
  }

  /** The job's value if there is one and it `fits`, marked most recently used. */
  peek(jobId: number, fits: (v: T) => boolean): T | undefined {
    const v = this.byJob.get(jobId);
    return v !== undefined && fits(v) ? this.set(jobId, v) : undefined;
  }

  set(jobId: number, v: T): T {
    this.byJob.delete(jobId); // re-inserted last: the map keeps the most recently used jobs
    this.byJob.set(jobId, v);
    if (this.byJob.size > this.keep) this.byJob.delete(this.byJob.keys().next().value as number);
    return v;
  }
}
