/**
 * Full-model vectors a worker keeps per job (error-feedback residuals, local-step optimizer state): only for the
 * few most recently used jobs, so a volunteer hopping between jobs does not accumulate them.
 */
export class PerJob<T> {
  private readonly byJob = new Map<number, T>();

  constructor(private readonly keep = 2) {}

  /** The job's value if `fits` it (same model size), else a fresh one from `make`; marked most recently used. */
  get(jobId: number, fits: (v: T) => boolean, make: () => T): T {
    const old = this.byJob.get(jobId);
    const v = old && fits(old) ? old : make();
    this.byJob.delete(jobId); // re-inserted last: the map keeps the most recently used jobs
    this.byJob.set(jobId, v);
    if (this.byJob.size > this.keep) this.byJob.delete(this.byJob.keys().next().value as number);
    return v;
  }
}
