import type { Selectable } from 'kysely';
import { insertId, QueryGroup } from './query-group';
import type { AssignmentTable, ResultTable } from './schema';

export type AssignmentRow = Selectable<AssignmentTable>;
export type ResultRow = Omit<Selectable<ResultTable>, 'id' | 'created_at'>;

/** Leases as rows, and the results that end them (accepted or refused). */
export class AssignmentQueries extends QueryGroup {
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
  /** Leases ended by results the round's close records at once. */
  async finishAssignments(ids: number[], state: AssignmentRow['state']) {
    if (ids.length)
      await this.db.updateTable('assignments').set({ state, finished_at: this.now() }).where('id', 'in', ids).where('state', '=', 'leased').execute();
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
    await this.recordResults([r]);
  }
  async recordResults(rows: ResultRow[]) {
    const now = this.now();
    if (rows.length)
      await this.db
        .insertInto('results')
        .values(rows.map((r) => ({ ...r, created_at: now })))
        .execute();
  }
  results(jobId: number, round?: number) {
    let q = this.db.selectFrom('results').selectAll().where('job_id', '=', jobId);
    if (round !== undefined) q = q.where('round', '=', round);
    return q.orderBy('id').execute();
  }
}
