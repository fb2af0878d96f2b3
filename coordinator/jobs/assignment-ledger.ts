import type { AssignmentRow, Fence, ResultRow, Store } from '../store/index';

/** Ids reserved at a time: a round of 64 shards takes 64, so one block lasts many rounds. */
const BLOCK = 1024;

export interface LeaseRowInput {
  jobId: number;
  round: number;
  shard: number;
  workerId: string;
  leaseMs: number;
}

/**
 * Leases as rows, written behind: a lease takes its id from a block this coordinator reserved, so leasing writes
 * nothing on the round's path, and its row goes into the transaction that ends it (its result's, or its round's
 * close, `writeWith`) or the scheduler's next tick (`flush`). A lease that ends before its row is written ends in
 * memory; one that ends while a transaction writes its row is ended in the store once that has landed.
 */
export class AssignmentLedger {
  /** Reserved ids not handed out yet: [next, end) pairs, oldest first. */
  private readonly blocks: [number, number][] = [];
  private reserving?: Promise<void>;
  /** Rows not handed to a transaction yet, by id. */
  private readonly unwritten = new Map<number, AssignmentRow>();
  /** Rows a transaction is writing, by id: settled (either way) once it has landed or failed. */
  private readonly writing = new Map<number, Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  /** A new lease's row and its id; undefined when no reserved id is left (`reserve()` gets more). */
  open(a: LeaseRowInput): number | undefined {
    if (this.spare() < BLOCK / 2) void this.reserve().catch(() => {}); // the next block before this one runs out
    const block = this.blocks[0];
    if (!block) return undefined;
    const id = block[0]++;
    if (block[0] === block[1]) this.blocks.shift();
    const now = this.now();
    const row = {
      id,
      job_id: a.jobId,
      round: a.round,
      shard: a.shard,
      worker_id: a.workerId,
      state: 'leased' as const,
      lease_until: now + a.leaseMs,
      created_at: now,
      finished_at: null,
    };
    this.unwritten.set(id, row);
    return id;
  }

  /** Reserve another block of ids (one request at a time); rejects when the store cannot. */
  reserve(): Promise<void> {
    this.reserving ??= this.store
      .reserveAssignmentIds(BLOCK)
      .then((first) => void this.blocks.push([first, first + BLOCK]))
      .finally(() => {
        this.reserving = undefined;
      });
    return this.reserving;
  }

  private spare() {
    return this.blocks.reduce((n, [next, end]) => n + end - next, 0);
  }

  /** End a lease that will not complete: in memory while its row is unwritten, else in the store. */
  async finish(id: number, state: AssignmentRow['state']): Promise<void> {
    const row = this.unwritten.get(id);
    if (row) {
      if (row.state === 'leased') Object.assign(row, { state, finished_at: this.now() });
      return;
    }
    const writing = this.writing.get(id);
    if (writing) {
      await writing;
      return this.finish(id, state); // landed: ended in the store; failed: back in memory
    }
    await this.store.finishAssignment(id, state);
  }

  /**
   * Run `write`, a transaction that inserts the rows it is given first, with the job's unwritten rows; they are
   * written by it or, if it fails, kept for the next. With `after`, once the transaction writing that lease's row
   * (if one is) has settled, so that a result's row is never written before its lease's.
   */
  writeWith<T>(jobId: number, write: (rows: AssignmentRow[]) => Promise<T>, after?: number): Promise<T> {
    const pending = after === undefined ? undefined : this.writing.get(after);
    if (pending) return pending.then(() => this.writeWith(jobId, write, after));
    const rows = [...this.unwritten.values()].filter((r) => r.job_id === jobId);
    for (const r of rows) this.unwritten.delete(r.id);
    const written = write(rows);
    const settled = written.then(
      () => this.settle(rows, false),
      () => this.settle(rows, true),
    );
    for (const r of rows) this.writing.set(r.id, settled);
    return written;
  }

  private settle(rows: AssignmentRow[], failed: boolean) {
    for (const r of rows) {
      this.writing.delete(r.id);
      if (failed) this.unwritten.set(r.id, r);
    }
  }

  /** A result or refusal on record (`Store.recordOutcome`), with the job's unwritten rows, once its lease's row can be. */
  recordOutcome(row: ResultRow, reputation: (current: number) => number, fence: Fence, also?: (tx: Store) => Promise<void>) {
    return this.writeWith(row.job_id, (leases) => this.store.recordOutcome(row, reputation, fence, { also, leases }), row.assignment_id);
  }

  /** The job's unwritten rows in a fenced transaction of their own, with `also` when given (a job's last state). */
  flush(fence: Fence, also?: (tx: Store) => Promise<unknown>): Promise<void> {
    return this.writeWith(fence.jobId, (rows) =>
      rows.length || also
        ? this.store.fenced(fence, async (tx) => {
            await tx.insertAssignments(rows);
            await also?.(tx);
          })
        : Promise.resolve(),
    );
  }

  /** Jobs with rows not written yet. */
  jobs(): Set<number> {
    return new Set([...this.unwritten.values()].map((r) => r.job_id));
  }

  /** The job is no longer this coordinator's: its unwritten rows are not its to write. */
  forget(jobId: number) {
    for (const r of [...this.unwritten.values()]) if (r.job_id === jobId) this.unwritten.delete(r.id);
  }
}
