import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, Migrator, MysqlDialect, SqliteDialect } from 'kysely';
import { migrations } from './migrations/index';
import type { Database } from './schema';

export type Dialect = 'sqlite' | 'mysql';

export interface OpenDb {
  db: Kysely<Database>;
  dialect: Dialect;
}

/** `sqlite:path/to/file.db` (or a bare path, or `:memory:`) for the embedded store; `mysql://user:pass@host/db` for MariaDB/MySQL. */
export async function openDb(url: string): Promise<OpenDb> {
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) {
    const { createPool } = await import('mysql2');
    const pool = createPool({ uri: url.replace(/^mariadb:/, 'mysql:'), connectionLimit: 10, supportBigNumbers: true, timezone: 'Z' });
    // A coordinator frozen inside a transaction would hold its row locks for as long as its socket lives, and no
    // other coordinator could take its jobs over: MariaDB ends a session idle in a transaction after 5 s (well inside
    // the 15 s ownership lease). MySQL has no such variable; there the statement fails and is ignored.
    pool.on('connection', (conn) => conn.query('SET SESSION idle_transaction_timeout = 5', () => {}));
    return { db: new Kysely<Database>({ dialect: new MysqlDialect({ pool }) }), dialect: 'mysql' };
  }
  const file = url.replace(/^sqlite:(\/\/)?/, '');
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const { default: LibSql } = await import('libsql');
  const database = new LibSql(file);
  database.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  return { db: new Kysely<Database>({ dialect: new SqliteDialect({ database: reusingStatements(database) as never }) }), dialect: 'sqlite' };
}

/** Statements the SQLite store keeps compiled: its queries are a few dozen shapes, run every round. */
const STATEMENT_CACHE = 256;

/**
 * The database with `prepare` answered from a cache by SQL text: compiling a statement cost more than running it on
 * the round's path. Safe because Kysely runs one statement at a time on its one connection and never streams here.
 */
function reusingStatements<D extends { prepare(sql: string): unknown }>(database: D): D {
  const statements = new Map<string, unknown>();
  const prepare = (sql: string) => {
    let stmt = statements.get(sql);
    if (stmt) return stmt;
    stmt = database.prepare(sql);
    if (statements.size >= STATEMENT_CACHE) statements.delete(statements.keys().next().value!); // the oldest shape
    statements.set(sql, stmt);
    return stmt;
  };
  return new Proxy(database, {
    get(target, key) {
      if (key === 'prepare') return prepare;
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Bring the schema up to date; throws (and the caller exits non-zero) when a migration fails. */
export async function migrate(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
