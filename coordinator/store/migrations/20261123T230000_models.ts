import { type Kysely, sql } from 'kysely';

// Frozen: typed against Kysely<any>, never edited after release; add a new file instead.
// Registered ONNX models, content-addressed by sha256, with their bytes in the database in parts (as checkpoints),
// so any coordinator can serve them.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('models')
    .addColumn('sha256', 'char(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('token_id', 'integer')
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addColumn('opset', 'integer', (c) => c.notNull())
    .addColumn('inputs', 'text', (c) => c.notNull())
    .addColumn('outputs', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('model_parts')
    .addColumn('sha256', 'char(64)', (c) => c.notNull())
    .addColumn('part', 'integer', (c) => c.notNull())
    .addColumn('data', sql`mediumblob`, (c) => c.notNull())
    .addPrimaryKeyConstraint('model_parts_pk', ['sha256', 'part'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('model_parts').execute();
  await db.schema.dropTable('models').execute();
}
