import type { Selectable } from 'kysely';
import { QueryGroup } from './query-group';
import type { WorkerTable } from './schema';

export type WorkerRow = Selectable<WorkerTable>;

/** Workers: registration, state, reputation, verified credit, and the bytes workers and jobs moved. */
export class WorkerQueries extends QueryGroup {
  /**
   * Record a worker coming online under `tokenId`. A worker id belongs to the token that first registered it:
   * 'taken' when the id is another token's (the caller issues a fresh id). 'quarantined' when the worker is, or,
   * with `byToken`, when any worker of this token is (a volunteer token cannot shed a quarantine by a new id).
   */
  registerWorker(
    w: { id: string; tokenId: number | null; name: string; team?: string; kind: string; capabilities: unknown },
    byToken = false,
  ): Promise<'ok' | 'taken' | 'quarantined'> {
    return this.inTransaction(async (db) => {
      const now = this.now();
      const row = { name: w.name, team: w.team || null, kind: w.kind, capabilities: JSON.stringify(w.capabilities), state: 'online' as const, last_seen: now };
      const existing = await db.selectFrom('workers').select(['id', 'token_id', 'state']).where('id', '=', w.id).executeTakeFirst();
      if (existing && existing.token_id !== w.tokenId) return 'taken';
      if (existing?.state === 'quarantined') return 'quarantined';
      if (byToken && w.tokenId !== null) {
        const bad = await db.selectFrom('workers').select('id').where('token_id', '=', w.tokenId).where('state', '=', 'quarantined').executeTakeFirst();
        if (bad) return 'quarantined';
      }
      if (existing) await db.updateTable('workers').set(row).where('id', '=', w.id).execute();
      else
        await db
          .insertInto('workers')
          .values({ ...row, id: w.id, token_id: w.tokenId, reputation: 1, shards_done: 0, connected_at: now })
          .execute();
      return 'ok';
    });
  }
  /** Verified results per worker, for those of `ids` on record. */
  async verifiedCounts(ids: string[]): Promise<Map<string, number>> {
    if (!ids.length) return new Map();
    const rows = await this.db.selectFrom('workers').select(['id', 'verified']).where('id', 'in', ids).execute();
    return new Map(rows.map((r) => [r.id, Number(r.verified)]));
  }
  /** One more of the worker's results verified by recomputation. */
  async addVerified(id: string) {
    await this.db
      .updateTable('workers')
      .set((eb) => ({ verified: eb('verified', '+', 1) }))
      .where('id', '=', id)
      .execute();
  }
  /** A result of the worker was found wrong by recomputation: what it had earned is gone. */
  async resetVerified(id: string) {
    await this.db.updateTable('workers').set({ verified: 0 }).where('id', '=', id).execute();
  }
  async setWorkerState(id: string, state: WorkerRow['state']) {
    // A quarantine outlives the connection: going offline does not lift it.
    await this.db.updateTable('workers').set({ state, last_seen: this.now() }).where('id', '=', id).where('state', '!=', 'quarantined').execute();
  }
  /** Apply a reputation rule to a worker (and count a finished shard); returns the new reputation. */
  async judgeWorker(id: string, rule: (current: number) => number, shardsDone: number): Promise<number> {
    const row = await this.db.selectFrom('workers').select('reputation').where('id', '=', id).executeTakeFirst();
    if (!row) return 1;
    const reputation = rule(row.reputation);
    await this.db
      .updateTable('workers')
      .set((eb) => ({ reputation, shards_done: eb('shards_done', '+', shardsDone), last_seen: this.now() }))
      .where('id', '=', id)
      .execute();
    return reputation;
  }
  /**
   * Verified credit, as BOINC grants it: the results that stand (accepted and never discarded since), per worker of
   * `tokenId`, or the top `limit` volunteer names over every token.
   */
  /** Verified credit: shards, samples and points that stand, and the points of results since `recentSince` (ms). */
  credit(by: { tokenId: number } | { limit: number; byTeam?: boolean }, recentSince = 0) {
    const q = this.db
      .selectFrom('results as r')
      .innerJoin('workers as w', 'w.id', 'r.worker_id')
      .where('r.accepted', '=', 1)
      .select((eb) => [
        eb.fn.countAll<number>().as('shards'),
        eb.fn.sum<number>('r.samples').as('samples'),
        eb.fn.sum<number>('r.points').as('points'),
        eb.fn.sum<number>(eb.case().when('r.created_at', '>=', recentSince).then(eb.ref('r.points')).else(0).end()).as('recent'),
      ]);
    if ('tokenId' in by) return q.where('w.token_id', '=', by.tokenId).select(['w.id', 'w.name']).groupBy(['w.id', 'w.name']).execute();
    if (by.byTeam)
      return q
        .where('w.team', 'is not', null)
        .select((eb) => [eb.ref('w.team').as('name'), eb.fn.count<number>('w.id').distinct().as('members')])
        .groupBy('w.team')
        .orderBy('points', 'desc')
        .limit(by.limit)
        .execute();
    return q.select('w.name').groupBy('w.name').orderBy('points', 'desc').limit(by.limit).execute();
  }

  worker(id: string) {
    return this.db.selectFrom('workers').selectAll().where('id', '=', id).executeTakeFirst();
  }
  listWorkers() {
    return this.db.selectFrom('workers').selectAll().orderBy('last_seen', 'desc').limit(500).execute();
  }

  /** Add to a worker's or a job's running byte totals. */
  async addTransfer(table: 'workers' | 'jobs', id: string | number, up: number, down: number) {
    const q = this.db.updateTable(table).set((eb) => ({ bytes_up: eb('bytes_up', '+', up), bytes_down: eb('bytes_down', '+', down) }));
    await (table === 'workers' ? q.where('id', '=', String(id)) : q.where('id', '=', Number(id))).execute();
  }

  /** What a job has moved so far, both ways (its spec left unread: an imported model's graph is in it). */
  async jobBytes(id: number) {
    const r = await this.db.selectFrom('jobs').select(['bytes_up', 'bytes_down']).where('id', '=', id).executeTakeFirst();
    return { up: Number(r?.bytes_up ?? 0), down: Number(r?.bytes_down ?? 0) };
  }

  /** The workers of a job: results that stand and results refused or set aside, the samples that stand, their capabilities. */
  jobWorkers(jobId: number) {
    return this.db
      .selectFrom('results as r')
      .innerJoin('workers as w', 'w.id', 'r.worker_id')
      .where('r.job_id', '=', jobId)
      .select(['w.id', 'w.name', 'w.kind', 'w.capabilities'])
      .select((eb) => [
        eb.fn.sum<number>(eb.case().when('r.accepted', '=', 1).then(1).else(0).end()).as('accepted'),
        eb.fn.sum<number>(eb.case().when('r.accepted', '=', 0).then(1).else(0).end()).as('refused'),
        eb.fn.sum<number>(eb.case().when('r.accepted', '=', 1).then(eb.ref('r.samples')).else(0).end()).as('samples'),
      ])
      .groupBy(['w.id', 'w.name', 'w.kind', 'w.capabilities'])
      .execute();
  }

  /** The job's latest refused or set-aside results, newest first. */
  refusals(jobId: number, limit = 20) {
    return this.db
      .selectFrom('results')
      .select(['worker_id', 'round', 'shard', 'reason', 'created_at'])
      .where('job_id', '=', jobId)
      .where('accepted', '=', 0)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }
}
