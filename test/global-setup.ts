import type { TestProject } from 'vitest/node';
import { startMariaDb } from './mariadb';

declare module 'vitest' {
  export interface ProvidedContext {
    mariadbUrl: string;
  }
}

/** One MariaDB for the whole run; store tests create a fresh database each. */
export default async function setup(project: TestProject) {
  const db = await startMariaDb();
  project.provide('mariadbUrl', db.url);
  return () => db.stop();
}
