/** One lease as the coordinator remembers it: who holds which shard of which round, until when. */
export interface Lease {
  assignmentId: number;
  jobId: number;
  round: number;
  shard: number;
  workerId: string;
  /** The parameter version the assignment named; its result must say the same. */
  paramsVersion: number;
  /** When it was granted: the time to its result is the worker's observed speed. */
  since: number;
  until: number;
  live: boolean;
}

/**
 * Leases by assignment id. Ended leases are kept while their round (or the one before) is current, so a late
 * result is told STALE_RESULT rather than UNKNOWN_ASSIGNMENT; older ones are pruned as rounds close.
 */
export class LeaseTable {
  private readonly byId = new Map<number, Lease>();

  add(lease: Lease) {
    this.byId.set(lease.assignmentId, lease);
  }

  get(assignmentId: number): Lease | undefined {
    return this.byId.get(assignmentId);
  }

  /** Mark a live lease ended; returns it, or undefined if it had already ended. */
  end(assignmentId: number): Lease | undefined {
    const lease = this.byId.get(assignmentId);
    if (!lease?.live) return undefined;
    lease.live = false;
    return lease;
  }

  /** Live leases whose deadline has passed at `now`. */
  overdue(now: number): Lease[] {
    return [...this.byId.values()].filter((l) => l.live && l.until < now);
  }

  /** Forget ended leases of `jobId` older than the round before `round`, or all of them when the job leaves. */
  prune(jobId: number, round = Number.POSITIVE_INFINITY) {
    for (const [id, l] of this.byId) if (l.jobId === jobId && !l.live && l.round < round - 1) this.byId.delete(id);
  }

  get size() {
    return this.byId.size;
  }
}
