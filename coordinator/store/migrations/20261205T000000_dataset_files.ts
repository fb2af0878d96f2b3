import { type Kysely, sql } from 'kysely';

// Frozen: typed against Kysely<any>, never edited after release; add a new file instead.
// The files uploaded data sets are built from (CSV, .npy, text), in the database in parts (as models and
// checkpoints), so every coordinator on it can serve them, not only the host that took the upload.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('dataset_files')
    .addColumn('file', 'varchar(200)', (c) => c.notNull())
    .addColumn('part', 'integer', (c) => c.notNull())
    .addColumn('data', sql`mediumblob`, (c) => c.notNull())
    .addPrimaryKeyConstraint('dataset_files_pk', ['file', 'part'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('dataset_files').execute();
}
