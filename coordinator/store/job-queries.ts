import type { Selectable } from 'kysely';
import { insertId, QueryGroup } from './query-group';
import type { JobState, JobTable } from './schema';

export type Job = Selectable<JobTable>;

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

/** Jobs: their rows and states, and which coordinator owns each (claims, renewals, takeovers, the fence). */
export class JobQueries extends QueryGroup {
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
    await this.inTransaction(async (db) => {
      await db
        .updateTable('jobs')
        .set({ owner_until: now + ttlMs })
        .where('owner', '=', owner)
        .where('state', 'in', runnable)
        .execute();
      // A takeover bumps the epoch: the previous owner's writes, fenced on the old one, can never land again.
      await db
        .updateTable('jobs')
        .set((eb) => ({ owner, owner_until: now + ttlMs, owner_epoch: eb('owner_epoch', '+', 1) }))
        .where('state', 'in', runnable)
        .where((eb) => eb.or([eb('owner', 'is', null), eb.and([eb('owner', '!=', owner), eb('owner_until', '<', now)])]))
        .execute();
    });
    return this.db.selectFrom('jobs').selectAll().where('owner', '=', owner).where('state', 'in', runnable).orderBy('id').execute();
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

  /** A new owner resumes from a checkpoint: results after it no longer count, metrics and samples after it are rewritten. */
  async supersedeAfter(jobId: number, checkpointRound: number) {
    await this.db
      .updateTable('results')
      .set({ accepted: 0, reason: 'SUPERSEDED' })
      .where('job_id', '=', jobId)
      .where('round', '>=', checkpointRound)
      .where('accepted', '=', 1)
      .execute();
    await this.db.deleteFrom('metrics').where('job_id', '=', jobId).where('round', '>', checkpointRound).execute();
    await this.db.deleteFrom('text_samples').where('job_id', '=', jobId).where('round', '>', checkpointRound).execute();
  }

  async releaseJobs(owner: string) {
    await this.db.updateTable('jobs').set({ owner: null, owner_until: null }).where('owner', '=', owner).execute();
  }
}
