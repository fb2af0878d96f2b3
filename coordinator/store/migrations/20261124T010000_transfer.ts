import type { Kysely } from 'kysely';

// Frozen: typed against Kysely<any>, never edited after release; add a new file instead.
// Bytes moved, per worker and per job: results and messages up, parameters, data, models and messages down.
export async function up(db: Kysely<any>): Promise<void> {
  for (const table of ['workers', 'jobs']) {
    await db.schema
      .alterTable(table)
      .addColumn('bytes_up', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .alterTable(table)
      .addColumn('bytes_down', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['workers', 'jobs']) {
    await db.schema.alterTable(table).dropColumn('bytes_up').execute();
    await db.schema.alterTable(table).dropColumn('bytes_down').execute();
  }
}
