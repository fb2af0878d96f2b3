import type { Kysely, Selectable } from 'kysely';
import type { Dialect } from './db';
import type { AssignmentTable, Database, JobState, JobTable, ResultTable, TokenTable, WorkerTable } from './schema';

export type Job = Selectable<JobTable>;
export type Token = Selectable<TokenTable>;
export type WorkerRow = Selectable<WorkerTable>;
export type AssignmentRow = Selectable<AssignmentTable>;

const insertId = (r: { insertId?: bigint }) => Number(r.insertId);

/** Every query the coordinator makes, one code path for SQLite and MariaDB. */
export class Store {
  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    private readonly now: () => number = Date.now,
  ) {}

  close() {
    return this.db.destroy();
  }

  // Tokens
  async createToken(t: { name: string; hash: string; scopes: string[]; ratePerMin: number }): Promise<number> {
    const r = await this.db
      .insertInto('tokens')
      .values({ name: t.name, hash: t.hash, scopes: t.scopes.join(','), rate_per_min: t.ratePerMin, created_at: this.now(), revoked_at: null })
      .executeTakeFirstOrThrow();
    return insertId(r);
  }
  tokenByHash(hash: string) {
    return this.db.selectFrom('tokens').selectAll().where('hash', '=', hash).where('revoked_at', 'is', null).executeTakeFirst();
  }
  listTokens() {
    return this.db.selectFrom('tokens').select(['id', 'name', 'scopes', 'rate_per_min', 'created_at', 'revoked_at']).orderBy('id').execute();
  }
  async revokeToken(id: number): Promise<boolean> {
    const r = await this.db.updateTable('tokens').set({ revoked_at: this.now() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
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
  listJobs(limit = 100) {
    return this.db.selectFrom('jobs').selectAll().orderBy('id', 'desc').limit(limit).execute();
  }
  /** Compare-and-set on state so two coordinators (or a late request) never overwrite each other's transition. */
  async setJobState(id: number, to: JobState, from?: JobState[], error?: string): Promise<boolean> {
    let q = this.db.updateTable('jobs').set({ state: to, updated_at: this.now(), ...(error !== undefined ? { error } : {}) }).where('id', '=', id);
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
    await this.db
      .updateTable('jobs')
      .set({ owner, owner_until: now + ttlMs })
      .where('state', 'in', ['queued', 'running', 'paused'])
      .where((eb) => eb.or([eb('owner', 'is', null), eb('owner', '=', owner), eb('owner_until', '<', now)]))
      .execute();
    return this.db.selectFrom('jobs').selectAll().where('owner', '=', owner).where('state', 'in', ['queued', 'running', 'paused']).orderBy('id').execute();
  }
  async releaseJobs(owner: string) {
    await this.db.updateTable('jobs').set({ owner: null, owner_until: null }).where('owner', '=', owner).execute();
  }

  // Assignments (leases)
  async createAssignment(a: { jobId: number; round: number; shard: number; workerId: string; leaseMs: number }): Promise<number> {
    const now = this.now();
    const r = await this.db
      .insertInto('assignments')
      .values({ job_id: a.jobId, round: a.round, shard: a.shard, worker_id: a.workerId, state: 'leased', lease_until: now + a.leaseMs, created_at: now, finished_at: null })
      .executeTakeFirstOrThrow();
    return insertId(r);
  }
  async finishAssignment(id: number, state: AssignmentRow['state']): Promise<boolean> {
    const r = await this.db.updateTable('assignments').set({ state, finished_at: this.now() }).where('id', '=', id).where('state', '=', 'leased').executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
  assignments(jobId: number, round?: number) {
    let q = this.db.selectFrom('assignments').selectAll().where('job_id', '=', jobId);
    if (round !== undefined) q = q.where('round', '=', round);
    return q.orderBy('id').execute();
  }
  /** Leases left open by a coordinator that died: they can never complete, so mark them expired. */
  async expireOpenAssignments(jobId: number) {
    await this.db.updateTable('assignments').set({ state: 'expired', finished_at: this.now() }).where('job_id', '=', jobId).where('state', '=', 'leased').execute();
  }

  // Results metadata
  async recordResult(r: Omit<Selectable<ResultTable>, 'id' | 'created_at'>) {
    await this.db.insertInto('results').values({ ...r, created_at: this.now() }).execute();
  }
  results(jobId: number, round?: number) {
    let q = this.db.selectFrom('results').selectAll().where('job_id', '=', jobId);
    if (round !== undefined) q = q.where('round', '=', round);
    return q.orderBy('id').execute();
  }

  // Workers
  async upsertWorker(w: { id: string; tokenId: number | null; name: string; kind: string; capabilities: unknown }) {
    const now = this.now();
    const row = { token_id: w.tokenId, name: w.name, kind: w.kind, capabilities: JSON.stringify(w.capabilities), state: 'online' as const, last_seen: now };
    const exists = await this.db.selectFrom('workers').select('id').where('id', '=', w.id).executeTakeFirst();
    if (exists) await this.db.updateTable('workers').set(row).where('id', '=', w.id).execute();
    else await this.db.insertInto('workers').values({ ...row, id: w.id, reputation: 1, shards_done: 0, connected_at: now }).execute();
  }
  async setWorkerState(id: string, state: WorkerRow['state']) {
    await this.db.updateTable('workers').set({ state, last_seen: this.now() }).where('id', '=', id).execute();
  }
  async creditWorker(id: string, reputationDelta: number) {
    await this.db
      .updateTable('workers')
      .set((eb) => ({ shards_done: eb('shards_done', '+', reputationDelta > 0 ? 1 : 0), reputation: eb('reputation', '+', reputationDelta), last_seen: this.now() }))
      .where('id', '=', id)
      .execute();
  }
  worker(id: string) {
    return this.db.selectFrom('workers').selectAll().where('id', '=', id).executeTakeFirst();
  }
  listWorkers() {
    return this.db.selectFrom('workers').selectAll().orderBy('last_seen', 'desc').limit(500).execute();
  }

  // Checkpoints
  async addCheckpoint(c: { jobId: number; round: number; path: string; sha256: string; bytes: number }) {
    await this.db.insertInto('checkpoints').values({ job_id: c.jobId, round: c.round, path: c.path, sha256: c.sha256, bytes: c.bytes, created_at: this.now() }).execute();
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
    const rows = Object.entries(values).map(([name, value]) => ({ job_id: jobId, round, name, value, at }));
    if (rows.length) await this.db.insertInto('metrics').values(rows).execute();
  }
  metrics(jobId: number, sinceId = 0) {
    return this.db.selectFrom('metrics').selectAll().where('job_id', '=', jobId).where('id', '>', sinceId).orderBy('id').limit(10_000).execute();
  }
  async audit(actor: string, action: string, target: string, detail: unknown = {}) {
    await this.db.insertInto('audit_events').values({ at: this.now(), actor, action, target, detail: JSON.stringify(detail) }).execute();
  }
  auditEvents(limit = 100) {
    return this.db.selectFrom('audit_events').selectAll().orderBy('id', 'desc').limit(limit).execute();
  }

  // Data sets
  async putDataset(d: { name: string; split: string; source: string; samples: number; classes: number; manifest: unknown }) {
    await this.db.deleteFrom('datasets').where('name', '=', d.name).where('split', '=', d.split).execute();
    await this.db.insertInto('datasets').values({ ...d, manifest: JSON.stringify(d.manifest), created_at: this.now() }).execute();
  }
  dataset(name: string, split: string) {
    return this.db.selectFrom('datasets').selectAll().where('name', '=', name).where('split', '=', split).executeTakeFirst();
  }
  listDatasets() {
    return this.db.selectFrom('datasets').select(['name', 'split', 'source', 'samples', 'classes', 'created_at']).orderBy('name').execute();
  }
}
