import type { Selectable } from 'kysely';
import { QueryGroup } from './query-group';
import type { AssignmentTable, ResultTable } from './schema';

export type AssignmentRow = Selectable<AssignmentTable>;
export type ResultRow = Omit<Selectable<ResultTable>, 'id' | 'created_at'>;

/** Leases as rows, and the results that end them (accepted or refused). */
export class AssignmentQueries extends QueryGroup {
  /**
   * Reserve `count` assignment ids for this coordinator alone (coordinators sharing the database get disjoint
   * blocks): the first of them. Leases then take ids without a write of their own.
   */
  reserveAssignmentIds(count: number): Promise<number> {
    return this.inTransaction(async (db) => {
      await db
        .updateTable('id_blocks')
        .set((e) => ({ next_id: e('next_id', '+', count) }))
        .where('name', '=', 'assignments')
        .execute();
      const { next_id } = await db.selectFrom('id_blocks').select('next_id').where('name', '=', 'assignments').executeTakeFirstOrThrow();
      return Number(next_id) - count;
    });
  }
  /** Lease rows with their reserved ids, as they stand (a lease may have ended before its row was written). */
  async insertAssignments(rows: AssignmentRow[]) {
    if (rows.length) await this.db.insertInto('assignments').values(rows).execute();
  }
  async finishAssignment(id: number, state: AssignmentRow['state']): Promise<boolean> {
    return (await this.finishAssignments([id], state)) > 0;
  }
  /** End the leases still open among `ids` (those a round's close records at once); how many were. */
  async finishAssignments(ids: number[], state: AssignmentRow['state']): Promise<number> {
    if (!ids.length) return 0;
    const r = await this.db
      .updateTable('assignments')
      .set({ state, finished_at: this.now() })
      .where('id', 'in', ids)
      .where('state', '=', 'leased')
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
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
