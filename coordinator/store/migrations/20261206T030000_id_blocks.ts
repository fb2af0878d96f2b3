import type { Kysely } from 'kysely';

// Frozen: typed against Kysely<any>, never edited after release; add a new file instead.
// Assignment ids handed out by the coordinators themselves, from blocks each reserves here, so that a lease needs no
// write of its own: its row goes into the transaction of the result or round that ends it.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('id_blocks')
    .addColumn('name', 'varchar(40)', (c) => c.primaryKey())
    .addColumn('next_id', 'bigint', (c) => c.notNull())
    .execute();
  const { top } = await db
    .selectFrom('assignments')
    .select((e) => e.fn.max('id').as('top'))
    .executeTakeFirstOrThrow();
  await db
    .insertInto('id_blocks')
    .values({ name: 'assignments', next_id: Number(top ?? 0) + 1 })
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('id_blocks').execute();
}
