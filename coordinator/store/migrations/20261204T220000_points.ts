import type { Kysely } from 'kysely';

// Frozen: typed against Kysely<any>, never edited after release; add a new file instead.
// What a result's work was worth: points (one per GFLOP its job's kind counts for it), summed into volunteers' credit.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('results')
    .addColumn('points', 'double precision', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('results').dropColumn('points').execute();
}
