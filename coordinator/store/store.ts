import type { Kysely } from 'kysely';
import { AdminQueries } from './admin-queries';
import { AssignmentQueries, type AssignmentRow, type ResultRow } from './assignment-queries';
import { CheckpointQueries } from './checkpoint-queries';
import { DatasetQueries } from './dataset-queries';
import type { Dialect } from './db';
import { type Fence, JobQueries } from './job-queries';
import { ModelQueries } from './model-queries';
import { OutputQueries } from './output-queries';
import type { Connection, QueryGroup } from './query-group';
import { withRetry } from './retry';
import type { Database } from './schema';
import { WorkerQueries } from './worker-queries';

export type { Token } from './admin-queries';
export type { AssignmentRow, ResultRow } from './assignment-queries';
export type { DatasetFile, DatasetRow } from './dataset-queries';
export { type Fence, FencedError, type Job } from './job-queries';
export type { WorkerRow } from './worker-queries';

/** A group's public queries, as the Store offers them. */
type Queries<T> = Pick<T, keyof T>;

/** The Store's queries are its groups', one flat API (a group is one file per table family). */
export interface Store
  extends Queries<JobQueries>,
    Queries<AssignmentQueries>,
    Queries<WorkerQueries>,
    Queries<CheckpointQueries>,
    Queries<OutputQueries>,
    Queries<ModelQueries>,
    Queries<AdminQueries>,
    Queries<DatasetQueries> {}

const GROUPS = [JobQueries, AssignmentQueries, WorkerQueries, CheckpointQueries, OutputQueries, ModelQueries, AdminQueries, DatasetQueries];

/**
 * Every query of the grid, one code path for SQLite and MariaDB, composed of its query groups; what spans groups
 * (a result with its lease and reputation, a round's close, writes fenced on a job's owner) is here.
 */
export class Store {
  /** Told of each retry of a transaction after a transient error (the server logs it). */
  onRetry: (e: unknown, attempt: number) => void = () => {};

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    private readonly now: () => number = Date.now,
  ) {
    const c: Connection = { db, dialect, now, inTransaction: (fn) => withRetry(() => db.transaction().execute(fn), this.onRetry) };
    this.groups = GROUPS.map((Group) => new Group(c));
  }

  /** The query groups over this store's connection (or transaction), in GROUPS' order; their queries are offered below. */
  readonly groups: readonly QueryGroup[];

  close() {
    return this.db.destroy();
  }

  /**
   * Run `fn` against a store bound to one transaction: every write in it lands, or none does. Transient errors (a
   * database restarting, a deadlock) roll it back and run it again, for up to 30 s.
   */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return withRetry(() => this.db.transaction().execute((trx) => fn(new Store(trx, this.dialect, this.now))), this.onRetry);
  }

  /** Writes for a job by its owner: one transaction that lands only while `f` still owns the job at its epoch. */
  fenced<T>(f: Fence, fn: (tx: Store) => Promise<T>): Promise<T> {
    return this.transaction(async (tx) => {
      await tx.fence(f);
      return fn(tx);
    });
  }

  /**
   * A result, accepted or refused (by `r.accepted`), in one transaction: the lease ends, the result goes on record,
   * and the worker's reputation rule is applied; returns the new reputation.
   */
  recordOutcome(
    r: ResultRow,
    reputation: (current: number) => number,
    fence: Fence,
    o: { also?: (tx: Store) => Promise<void>; leases?: AssignmentRow[] } = {},
  ) {
    const { also, leases = [] } = o;
    return this.fenced(fence, async (tx) => {
      await tx.insertAssignments(leases); // lease rows not written yet (the result's own among them, unless written before)
      await tx.finishAssignment(r.assignment_id, r.accepted ? 'done' : 'rejected');
      await tx.recordResult(r);
      await also?.(tx); // what the result carries besides (an inference shard's outputs), in the same transaction
      return tx.judgeWorker(r.worker_id, reputation, r.accepted);
    });
  }

  /** Results that will not count after all (their worker was quarantined): kept on record, marked refused. */
  async discardResults(assignmentIds: number[], reason: string) {
    if (assignmentIds.length)
      await this.db.updateTable('results').set({ accepted: 0, reason, points: 0 }).where('assignment_id', 'in', assignmentIds).execute();
  }

  /**
   * A closed round: its results (their leases ended, each worker's count of shards done), progress, its metrics (with
   * the bytes the job has moved so far, for the run page's chart), its checkpoint when due and its workers'
   * reputations, all in one transaction.
   */
  closeRound(c: {
    jobId: number;
    round: number;
    paramsVersion: number;
    metrics: Record<string, number>;
    checkpoint?: { sha256: string; data: Uint8Array };
    judgements?: { workerId: string; rule: (current: number) => number }[];
    fence: Fence;
    /** The round's results not on record yet (accepted, or refused after they were accepted). */
    results?: ResultRow[];
    /** The job's lease rows not written yet (assignment-ledger.ts): written before the results that end them. */
    leases?: AssignmentRow[];
    /** The job's bytes not yet in its totals: added here, so the totals the round records are exact. */
    bytes?: { up: number; down: number };
  }): Promise<Map<string, number>> {
    return this.fenced(c.fence, async (tx) => {
      const results = c.results ?? [];
      await tx.insertAssignments(c.leases ?? []);
      await tx.finishAssignments(
        results.map((r) => r.assignment_id),
        'done',
      );
      await tx.recordResults(results);
      await tx.setJobProgress(c.jobId, c.round, c.paramsVersion);
      if (c.bytes) await tx.addTransfer('jobs', c.jobId, c.bytes.up, c.bytes.down);
      const moved = await tx.jobBytes(c.jobId);
      await tx.addMetrics(c.jobId, c.round, { ...c.metrics, bytes_up: moved.up, bytes_down: moved.down });
      if (c.checkpoint) await tx.addCheckpoint({ jobId: c.jobId, round: c.round, ...c.checkpoint });
      // One judgement a worker: its rule (unchanged when it has none) and the shards it got done this round.
      const done = new Map<string, number>();
      for (const r of results) done.set(r.worker_id, (done.get(r.worker_id) ?? 0) + r.accepted);
      const rules = new Map((c.judgements ?? []).map((j) => [j.workerId, j.rule]));
      const reputations = new Map<string, number>();
      for (const id of new Set([...done.keys(), ...rules.keys()])) {
        const reputation = await tx.judgeWorker(id, rules.get(id) ?? ((current) => current), done.get(id) ?? 0);
        if (rules.has(id)) reputations.set(id, reputation);
      }
      return reputations;
    });
  }
}

/**
 * Offer every group's queries on the Store's prototype, each calling that group of the store it is called on: once
 * here, not per store, since a store is made for every transaction (binding them per store cost 0.3 ms a round). A
 * test may still replace one on a store.
 */
GROUPS.forEach((Group, i) => {
  const proto = Group.prototype as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === 'constructor' || typeof proto[name] !== 'function') continue;
    // Two groups (or a group and the store) with one query name would shadow each other silently.
    if (name in Store.prototype) throw new Error(`store query ${name} is defined twice`);
    const query = function (this: Store, ...args: unknown[]) {
      const group = this.groups[i] as unknown as Record<string, (...a: unknown[]) => unknown>;
      return group[name](...args);
    };
    Object.defineProperty(Store.prototype, name, { value: query, writable: true, configurable: true });
  }
});
