import { createConnection } from 'mysql2/promise';
import { inject } from 'vitest';
import { openStore, type Store } from '../coordinator/store/index';

/** Suites that touch SQL run once per dialect: the embedded SQLite and the real MariaDB from test/global-setup.ts. */
export const DIALECTS = ['sqlite', 'mysql'] as const;
export type TestDialect = (typeof DIALECTS)[number];

let counter = 0;

/** A fresh, migrated store: an in-memory SQLite, or a new database on the shared MariaDB. */
export async function freshStore(dialect: TestDialect, now?: () => number): Promise<Store> {
  return openStore(await freshDatabaseUrl(dialect), now);
}

export async function freshDatabaseUrl(dialect: TestDialect): Promise<string> {
  if (dialect === 'sqlite') return ':memory:';
  const u = new URL(inject('mariadbUrl'));
  const name = `grid_${process.pid}_${++counter}`;
  const c = await createConnection({ host: u.hostname, port: Number(u.port), user: u.username });
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  u.pathname = `/${name}`;
  return u.toString();
}
