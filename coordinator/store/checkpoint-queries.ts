import { METRICS_PAGE } from '../../protocol/metric-pages';
import { insertId, partsOf, QueryGroup } from './query-group';

/**
 * Checkpoints (their bytes in parts, so any coordinator on the database can resume a job), a job's metrics and what
 * its language model wrote at its evaluations.
 */
export class CheckpointQueries extends QueryGroup {
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
    return this.db.selectFrom('metrics').selectAll().where('job_id', '=', jobId).where('id', '>', sinceId).orderBy('id').limit(METRICS_PAGE).execute();
  }

  /** The continuations written at an evaluation; an evaluation of the same round again (after a takeover) replaces them. */
  async setTextSamples(jobId: number, round: number, samples: { prompt: string; text: string }[]) {
    await this.db.deleteFrom('text_samples').where('job_id', '=', jobId).where('round', '=', round).execute();
    const at = this.now();
    const rows = samples.map((s, seq) => ({ job_id: jobId, round, seq, prompt: s.prompt, text: s.text, at }));
    if (rows.length) await this.db.insertInto('text_samples').values(rows).execute();
  }
  /** A job's samples, the latest evaluations' first. */
  textSamples(jobId: number, limit = 200) {
    return this.db.selectFrom('text_samples').selectAll().where('job_id', '=', jobId).orderBy('round', 'desc').orderBy('seq').limit(limit).execute();
  }
}
