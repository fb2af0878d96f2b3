import { type Kysely, sql } from 'kysely';

// Frozen: typed against Kysely<any>, never edited after release; add a new file instead.
export async function up(db: Kysely<any>): Promise<void> {
  const autoId = (c: any) => c.primaryKey().autoIncrement();
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'integer', autoId)
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('round', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('total_rounds', 'integer', (c) => c.notNull())
    .addColumn('params_version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('token_id', 'integer')
    .addColumn('owner', 'varchar(64)')
    .addColumn('owner_until', 'bigint')
    .addColumn('error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jobs_state').on('jobs').column('state').execute();

  await db.schema
    .createTable('assignments')
    .addColumn('id', 'integer', autoId)
    .addColumn('job_id', 'integer', (c) => c.notNull())
    .addColumn('round', 'integer', (c) => c.notNull())
    .addColumn('shard', 'integer', (c) => c.notNull())
    .addColumn('worker_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('lease_until', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema.createIndex('assignments_job_round').on('assignments').columns(['job_id', 'round', 'shard']).execute();

  await db.schema
    .createTable('results')
    .addColumn('id', 'integer', autoId)
    .addColumn('assignment_id', 'integer', (c) => c.notNull())
    .addColumn('job_id', 'integer', (c) => c.notNull())
    .addColumn('round', 'integer', (c) => c.notNull())
    .addColumn('shard', 'integer', (c) => c.notNull())
    .addColumn('worker_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('samples', 'integer', (c) => c.notNull())
    .addColumn('loss', 'double precision', (c) => c.notNull())
    .addColumn('norm', 'double precision', (c) => c.notNull())
    .addColumn('bytes', 'integer', (c) => c.notNull())
    .addColumn('encoding', 'varchar(8)', (c) => c.notNull())
    .addColumn('accepted', 'integer', (c) => c.notNull())
    .addColumn('reason', 'varchar(64)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('results_job_round').on('results').columns(['job_id', 'round']).execute();

  await db.schema
    .createTable('workers')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('token_id', 'integer')
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('capabilities', 'text', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('reputation', 'double precision', (c) => c.notNull().defaultTo(1))
    .addColumn('shards_done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('connected_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('checkpoints')
    .addColumn('id', 'integer', autoId)
    .addColumn('job_id', 'integer', (c) => c.notNull())
    .addColumn('round', 'integer', (c) => c.notNull())
    .addColumn('path', 'varchar(500)', (c) => c.notNull())
    .addColumn('sha256', 'char(64)', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('checkpoints_job_round').on('checkpoints').columns(['job_id', 'round']).execute();

  await db.schema
    .createTable('tokens')
    .addColumn('id', 'integer', autoId)
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('hash', 'char(64)', (c) => c.notNull().unique())
    .addColumn('scopes', 'varchar(100)', (c) => c.notNull())
    .addColumn('rate_per_min', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'integer', autoId)
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'varchar(100)', (c) => c.notNull())
    .addColumn('action', 'varchar(64)', (c) => c.notNull())
    .addColumn('target', 'varchar(200)', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('metrics')
    .addColumn('id', 'integer', autoId)
    .addColumn('job_id', 'integer', (c) => c.notNull())
    .addColumn('round', 'integer', (c) => c.notNull())
    .addColumn('name', 'varchar(64)', (c) => c.notNull())
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('metrics_job').on('metrics').columns(['job_id', 'round']).execute();

  await db.schema
    .createTable('datasets')
    .addColumn('name', 'varchar(100)', (c) => c.notNull())
    .addColumn('split', 'varchar(40)', (c) => c.notNull())
    .addColumn('source', 'varchar(500)', (c) => c.notNull())
    .addColumn('samples', 'integer', (c) => c.notNull())
    .addColumn('classes', 'integer', (c) => c.notNull())
    .addColumn('manifest', sql`mediumtext`, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('datasets_pk', ['name', 'split'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['datasets', 'metrics', 'audit_events', 'tokens', 'checkpoints', 'workers', 'results', 'assignments', 'jobs'])
    await db.schema.dropTable(t).execute();
}
