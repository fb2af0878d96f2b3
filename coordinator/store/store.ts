import type { Selectable } from 'kysely';
import { insertId } from './admin-queries';
import { partsOf } from './model-queries';
import { withRetry } from './retry';
import type { AssignmentTable, JobState, JobTable, ResultTable, WorkerTable } from './schema';
import { WorkerQueries } from './worker-queries';

export type Job = Selectable<JobTable>;
export type WorkerRow = Selectable<WorkerTable>;
export type AssignmentRow = Selectable<AssignmentTable>;
export type { Token } from './admin-queries';
/** Who may write for a job: the owner and the epoch it claimed the job at. */
export interface Fence {
  jobId: number;
  owner: string;
  epoch: number;
}

/** This coordinator no longer owns the job (another took it over): it must stop running it, not fail it. */
export class FencedError extends Error {
  constructor(readonly jobId: number) {
    super(`job ${jobId} is owned by another coordinator now`);
  }
}

export type ResultRow = Omit<Selectable<ResultTable>, 'id' | 'created_at'>;

/** Every query of training and workers, one code path for SQLite and MariaDB; tokens, audit and data sets are in AdminQueries. */
export class Store extends WorkerQueries {
  /** Told of each retry of a transaction after a transient error (the server logs it). */
  onRetry: (e: unknown, attempt: number) => void = () => {};

  /**
   * Run `fn` against a store bound to one transaction: every write in it lands, or none does. Transient errors (a
   * database restarting, a deadlock) roll it back and run it again, for up to 30 s.
   */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return withRetry(() => this.db.transaction().execute((trx) => fn(new Store(trx, this.dialect, this.now))), this.onRetry);
  }

  /**
   * A result, accepted or refused (by `r.accepted`), in one transaction: the lease ends, the result goes on record,
   * and the worker's reputation rule is applied; returns the new reputation.
   */
  recordOutcome(r: ResultRow, reputation: (current: number) => number, fence: Fence, also?: (tx: Store) => Promise<void>) {
    return this.fenced(fence, async (tx) => {
      await tx.finishAssignment(r.assignment_id, r.accepted ? 'done' : 'rejected');
      await tx.recordResult(r);
      await also?.(tx); // what the result carries besides (an inference shard's outputs), in the same transaction
      return tx.judgeWorker(r.worker_id, reputation, r.accepted === 1);
    });
  }

  /** Results that will not count after all (their worker was quarantined): kept on record, marked refused. */
  async discardResults(assignmentIds: number[], reason: string) {
    if (assignmentIds.length) await this.db.updateTable('results').set({ accepted: 0, reason }).where('assignment_id', 'in', assignmentIds).execute();
  }

  /** A closed round: progress, its metrics, its checkpoint when due and its workers' reputations, all at once. */
  closeRound(c: {
    jobId: number;
    round: number;
    paramsVersion: number;
    metrics: Record<string, number>;
    checkpoint?: { sha256: string; data: Uint8Array };
    judgements?: { workerId: string; rule: (current: number) => number }[];
    fence: Fence;
  }): Promise<Map<string, number>> {
    return this.fenced(c.fence, async (tx) => {
      await tx.setJobProgress(c.jobId, c.round, c.paramsVersion);
      await tx.addMetrics(c.jobId, c.round, c.metrics);
      if (c.checkpoint) await tx.addCheckpoint({ jobId: c.jobId, round: c.round, ...c.checkpoint });
      const reputations = new Map<string, number>();
      for (const j of c.judgements ?? []) reputations.set(j.workerId, await tx.judgeWorker(j.workerId, j.rule, false));
      return reputations;
    });
  }

  // Jobs
  async createJob(j: { name: string; spec: unknown; totalRounds: number; tokenId: number | null }): Promise<number> {
    const now = this.now();
    const r = await this.db
      .insertInto('jobs')
      .values({
        name: j.name,
        spec: JSON.stringify(j.spec),
        state: 'queued',
        round: 0,
        total_rounds: j.totalRounds,
        params_version: 0,
        token_id: j.tokenId,
        owner: null,
        owner_until: null,
        error: null,
        created_at: now,
        updated_at: now,
      })
      .executeTakeFirstOrThrow();
    return insertId(r);
  }
  job(id: number) {
    return this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }
  /** The newest jobs, all of them or only those `tokenId` submitted. */
  listJobs(tokenId?: number, limit = 100) {
    let q = this.db.selectFrom('jobs').selectAll();
    if (tokenId !== undefined) q = q.where('token_id', '=', tokenId);
    return q.orderBy('id', 'desc').limit(limit).execute();
  }
  /** Compare-and-set on state so two coordinators (or a late request) never overwrite each other's transition. */
  async setJobState(id: number, to: JobState, from?: JobState[], error?: string): Promise<boolean> {
    let q = this.db
      .updateTable('jobs')
      .set({ state: to, updated_at: this.now(), ...(error !== undefined ? { error } : {}) })
      .where('id', '=', id);
    if (from) q = q.where('state', 'in', from);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
  async setJobProgress(id: number, round: number, paramsVersion: number) {
    await this.db.updateTable('jobs').set({ round, params_version: paramsVersion, updated_at: this.now() }).where('id', '=', id).execute();
  }
  /** Take or renew ownership of runnable jobs whose lease is free, ours, or expired; returns the jobs now owned. */
  async claimJobs(owner: string, ttlMs: number): Promise<Job[]> {
    const now = this.now();
    const runnable = ['queued', 'running', 'paused'] as const;
    await this.transaction(async (tx) => {
      await tx.db
        .updateTable('jobs')
        .set({ owner_until: now + ttlMs })
        .where('owner', '=', owner)
        .where('state', 'in', runnable)
        .execute();
      // A takeover bumps the epoch: the previous owner's writes, fenced on the old one, can never land again.
      await tx.db
        .updateTable('jobs')
        .set((eb) => ({ owner, owner_until: now + ttlMs, owner_epoch: eb('owner_epoch', '+', 1) }))
        .where('state', 'in', runnable)
        .where((eb) => eb.or([eb('owner', 'is', null), eb.and([eb('owner', '!=', owner), eb('owner_until', '<', now)])]))
        .execute();
    });
    return this.db.selectFrom('jobs').selectAll().where('owner', '=', owner).where('state', 'in', runnable).orderBy('id').execute();
  }

  /** Writes for a job by its owner: one transaction that lands only while `f` still owns the job at its epoch. */
  fenced<T>(f: Fence, fn: (tx: Store) => Promise<T>): Promise<T> {
    return this.transaction(async (tx) => {
      await tx.fence(f);
      return fn(tx);
    });
  }

  /** Inside a transaction: go on only if `f` still owns the job at the epoch it claimed. */
  async fence(f: Fence) {
    const r = await this.db
      .updateTable('jobs')
      .set({ updated_at: this.now() })
      .where('id', '=', f.jobId)
      .where('owner', '=', f.owner)
      .where('owner_epoch', '=', f.epoch)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new FencedError(f.jobId);
  }

  /** A new owner resumes from a checkpoint: results after it no longer count and metrics after it are rewritten. */
  async supersedeAfter(jobId: number, checkpointRound: number) {
    await this.db
      .updateTable('results')
      .set({ accepted: 0, reason: 'SUPERSEDED' })
      .where('job_id', '=', jobId)
      .where('round', '>=', checkpointRound)
      .where('accepted', '=', 1)
      .execute();
    await this.db.deleteFrom('metrics').where('job_id', '=', jobId).where('round', '>', checkpointRound).execute();
  }

  async releaseJobs(owner: string) {
    await this.db.updateTable('jobs').set({ owner: null, owner_until: null }).where('owner', '=', owner).execute();
  }

  // Assignments (leases)
  async createAssignment(a: { jobId: number; round: number; shard: number; workerId: string; leaseMs: number }): Promise<number> {
    const now = this.now();
    const r = await this.db
      .insertInto('assignments')
      .values({
        job_id: a.jobId,
        round: a.round,
        shard: a.shard,
        worker_id: a.workerId,
        state: 'leased',
        lease_until: now + a.leaseMs,
        created_at: now,
        finished_at: null,
      })
      .executeTakeFirstOrThrow();
    return insertId(r);
  }
  async finishAssignment(id: number, state: AssignmentRow['state']): Promise<boolean> {
    const r = await this.db
      .updateTable('assignments')
      .set({ state, finished_at: this.now() })
      .where('id', '=', id)
      .where('state', '=', 'leased')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
  assignments(jobId: number, round?: number) {
    let q = this.db.selectFrom('assignments').selectAll().where('job_id', '=', jobId);
    if (round !== undefined) q = q.where('round', '=', round);
    return q.orderBy('id').execute();
  }
  /** Leases left open by a coordinator that died: they can never complete, so mark them expired. */
  async expireOpenAssignments(jobId: number) {
    await this.db
      .updateTable('assignments')
      .set({ state: 'expired', finished_at: this.now() })
      .where('job_id', '=', jobId)
      .where('state', '=', 'leased')
      .execute();
  }

  // Results metadata
  async recordResult(r: ResultRow) {
    await this.db
      .insertInto('results')
      .values({ ...r, created_at: this.now() })
      .execute();
  }
  results(jobId: number, round?: number) {
    let q = this.db.selectFrom('results').selectAll().where('job_id', '=', jobId);
    if (round !== undefined) q = q.where('round', '=', round);
    return q.orderBy('id').execute();
  }

  // Workers
  /**
   * Record a worker coming online under `tokenId`. A worker id belongs to the token that first registered it:
   * 'taken' when the id is another token's (the caller issues a fresh id). 'quarantined' when the worker is, or,
   * with `byToken`, when any worker of this token is (a volunteer token cannot shed a quarantine by a new id).
   */
  registerWorker(
    w: { id: string; tokenId: number | null; name: string; kind: string; capabilities: unknown },
    byToken = false,
  ): Promise<'ok' | 'taken' | 'quarantined'> {
    return this.transaction(async (tx) => {
      const now = this.now();
      const row = { name: w.name, kind: w.kind, capabilities: JSON.stringify(w.capabilities), state: 'online' as const, last_seen: now };
      const existing = await tx.db.selectFrom('workers').select(['id', 'token_id', 'state']).where('id', '=', w.id).executeTakeFirst();
      if (existing && existing.token_id !== w.tokenId) return 'taken';
      if (existing?.state === 'quarantined') return 'quarantined';
      if (byToken && w.tokenId !== null) {
        const bad = await tx.db.selectFrom('workers').select('id').where('token_id', '=', w.tokenId).where('state', '=', 'quarantined').executeTakeFirst();
        if (bad) return 'quarantined';
      }
      if (existing) await tx.db.updateTable('workers').set(row).where('id', '=', w.id).execute();
      else
        await tx.db
          .insertInto('workers')
          .values({ ...row, id: w.id, token_id: w.tokenId, reputation: 1, shards_done: 0, connected_at: now })
          .execute();
      return 'ok';
    });
  }
  // Checkpoints
  /** A checkpoint's bytes, in the database in 1 MB parts so any coordinator on it can resume the job. */
  async addCheckpoint(c: { jobId: number; round: number; sha256: string; data: Uint8Array }) {
    const r = await this.db
      .insertInto('checkpoints')
      .values({ job_id: c.jobId, round: c.round, path: 'db', sha256: c.sha256, bytes: c.data.byteLength, created_at: this.now() })
      .executeTakeFirstOrThrow();
    const id = insertId(r);
    for (const p of partsOf(c.data))
      await this.db
        .insertInto('checkpoint_parts')
        .values({ checkpoint_id: id, ...p })
        .execute();
  }
  async checkpointData(id: number): Promise<Uint8Array> {
    const parts = await this.db.selectFrom('checkpoint_parts').select('data').where('checkpoint_id', '=', id).orderBy('part').execute();
    return Buffer.concat(parts.map((p) => Buffer.from(p.data)));
  }
  latestCheckpoint(jobId: number) {
    return this.db.selectFrom('checkpoints').selectAll().where('job_id', '=', jobId).orderBy('round', 'desc').orderBy('id', 'desc').executeTakeFirst();
  }
  checkpoints(jobId: number) {
    return this.db.selectFrom('checkpoints').selectAll().where('job_id', '=', jobId).orderBy('round').execute();
  }

  // Metrics and audit
  async addMetrics(jobId: number, round: number, values: Record<string, number>) {
    const at = this.now();
    const rows = Object.entries(values)
      .filter(([, value]) => Number.isFinite(value)) // SQL has no Infinity; a non-finite metric is a bug upstream, never a stalled job
      .map(([name, value]) => ({ job_id: jobId, round, name, value, at }));
    if (rows.length) await this.db.insertInto('metrics').values(rows).execute();
  }
  metrics(jobId: number, sinceId = 0) {
    return this.db.selectFrom('metrics').selectAll().where('job_id', '=', jobId).where('id', '>', sinceId).orderBy('id').limit(10_000).execute();
  }
}
