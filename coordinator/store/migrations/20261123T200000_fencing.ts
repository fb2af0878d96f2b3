import { type Kysely, sql } from 'kysely';

// Frozen: typed against Kysely<any>, never edited after release; add a new file instead.
// A fencing epoch on job ownership (bumped at every takeover), and checkpoint bytes in the database, in parts, so
// every coordinator on it can resume any job.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('jobs')
    .addColumn('owner_epoch', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable('checkpoint_parts')
    .addColumn('checkpoint_id', 'integer', (c) => c.notNull())
    .addColumn('part', 'integer', (c) => c.notNull())
    // mediumblob: 16 MB on MariaDB (parts are 1 MB); SQLite reads it as BLOB.
    .addColumn('data', sql`mediumblob`, (c) => c.notNull())
    .addPrimaryKeyConstraint('checkpoint_parts_pk', ['checkpoint_id', 'part'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('checkpoint_parts').execute();
  await db.schema.alterTable('jobs').dropColumn('owner_epoch').execute();
}
