import { type Kysely, sql } from 'kysely';

// Frozen: typed against Kysely<any>, never edited after release; add a new file instead.
// What a language model wrote at each evaluation (a few continuations of prompts from its validation text), shown
// beside its loss in the console.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('text_samples')
    .addColumn('job_id', 'integer', (c) => c.notNull())
    .addColumn('round', 'integer', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('prompt', sql`text`, (c) => c.notNull())
    .addColumn('text', sql`text`, (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('text_samples_pk', ['job_id', 'round', 'seq'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('text_samples').execute();
}
