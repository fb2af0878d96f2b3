import type { Kysely } from 'kysely';

// Frozen: typed against Kysely<any>, never edited after release; add a new file instead.
// Results of a worker that the coordinator's recomputation verified: its standing, kept across restarts and coordinators.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('workers')
    .addColumn('verified', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('workers').dropColumn('verified').execute();
}
