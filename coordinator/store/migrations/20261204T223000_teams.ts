import type { Kysely } from 'kysely';

// Frozen: typed against Kysely<any>, never edited after release; add a new file instead.
// The team a volunteer computes for (chosen on its page or with grid-worker --team): credit is also summed by team.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('workers').addColumn('team', 'varchar(100)').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('workers').dropColumn('team').execute();
}
