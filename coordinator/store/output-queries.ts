import type { Selectable } from 'kysely';
import { QueryGroup } from './query-group';
import type { InferenceOutputTable } from './schema';

export type OutputRow = Omit<Selectable<InferenceOutputTable>, 'created_at'>;

/** Inference outputs: what counts is what an accepted result row stands behind. */
export class OutputQueries extends QueryGroup {
  async putOutput(o: OutputRow) {
    await this.db
      .insertInto('inference_outputs')
      .values({ ...o, created_at: this.now() })
      .execute();
  }

  /** The standing outputs of a job, in shard order; a shard computed more than once appears once per computation. */
  async outputs(jobId: number) {
    const rows = await this.db
      .selectFrom('inference_outputs as o')
      .innerJoin('results as r', 'r.assignment_id', 'o.assignment_id')
      .select(['o.assignment_id', 'o.job_id', 'o.shard', 'o.worker_id', 'o.provider', 'o.dtype', 'o.count', 'o.data'])
      .where('o.job_id', '=', jobId)
      .where('r.accepted', '=', 1)
      .orderBy('o.shard')
      .orderBy('o.assignment_id')
      .execute();
    // SQLite hands blobs back as ArrayBuffer, MariaDB as Buffer: one type for callers.
    return rows.map((r) => ({ ...r, data: new Uint8Array(r.data as Uint8Array | ArrayBuffer) }));
  }

  /** How many standing shard computations each engine and provider ran: the job's mix. */
  async providerMix(jobId: number): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('inference_outputs as o')
      .innerJoin('results as r', 'r.assignment_id', 'o.assignment_id')
      .select(['o.provider', (eb) => eb.fn.countAll<number>().as('n')])
      .where('o.job_id', '=', jobId)
      .where('r.accepted', '=', 1)
      .groupBy('o.provider')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.provider, Number(r.n)]));
  }
}
