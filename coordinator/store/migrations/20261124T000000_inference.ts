import { type Kysely, sql } from 'kysely';

// Frozen: typed against Kysely<any>, never edited after release; add a new file instead.
// The outputs of inference shards, one row per accepted computation (a checked shard has several); which of them
// count follows their result row's `accepted`, so a discarded result takes its output with it.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('inference_outputs')
    .addColumn('assignment_id', 'integer', (c) => c.primaryKey())
    .addColumn('job_id', 'integer', (c) => c.notNull())
    .addColumn('shard', 'integer', (c) => c.notNull())
    .addColumn('worker_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('provider', 'varchar(200)', (c) => c.notNull())
    .addColumn('dtype', 'varchar(8)', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('data', sql`mediumblob`, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('inference_outputs_job').on('inference_outputs').columns(['job_id', 'shard']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('inference_outputs').execute();
}
