import type { Kysely } from 'kysely';

// Frozen: typed against Kysely<any>, never edited after release; add a new file instead.
// Data sets belong to the token that uploaded them; tokens may expire and record when they were last used.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('datasets').addColumn('token_id', 'integer').execute();
  await db.schema.alterTable('tokens').addColumn('expires_at', 'bigint').execute();
  await db.schema.alterTable('tokens').addColumn('last_used_at', 'bigint').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tokens').dropColumn('last_used_at').execute();
  await db.schema.alterTable('tokens').dropColumn('expires_at').execute();
  await db.schema.alterTable('datasets').dropColumn('token_id').execute();
}
