import type { Migration } from 'kysely';
import * as initial from './20261122T160000_initial';

/** Every migration, keyed by its timestamped name; Kysely runs them in name order. */
export const migrations: Record<string, Migration> = {
  '20261122T160000_initial': initial,
};
