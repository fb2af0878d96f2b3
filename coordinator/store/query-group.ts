import type { Kysely } from 'kysely';
import type { Dialect } from './db';
import type { Database } from './schema';

/** What every query group is built on: one connection (or one transaction), its dialect and its clock. */
export interface Connection {
  db: Kysely<Database>;
  dialect: Dialect;
  now: () => number;
  /** Run `fn` in one transaction, retried on transient errors (store.ts). */
  inTransaction<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
}

/** One group of queries over a connection; the Store is composed of them (store.ts). */
export abstract class QueryGroup {
  protected readonly db: Kysely<Database>;
  protected readonly now: () => number;
  protected readonly inTransaction: Connection['inTransaction'];

  constructor(c: Connection) {
    this.db = c.db;
    this.now = c.now;
    this.inTransaction = c.inTransaction;
  }
}

export const insertId = (r: { insertId?: bigint }) => Number(r.insertId);

/** Bytes per stored part: MariaDB's mediumblob holds 16 MB, and parts keep single rows small. */
const PART_BYTES = 1 << 20;

/** A blob cut into numbered parts for the `*_parts` tables (checkpoints, models). */
export function* partsOf(data: Uint8Array): Generator<{ part: number; data: Uint8Array }> {
  for (let part = 0, at = 0; at < data.byteLength; part++, at += PART_BYTES) yield { part, data: data.subarray(at, at + PART_BYTES) };
}
