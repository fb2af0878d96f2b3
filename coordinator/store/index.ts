import { migrate, openDb } from './db';
import { Store } from './store';

export type * from './schema';
export {
  type AssignmentRow,
  type DatasetFile,
  type DatasetRow,
  type Fence,
  FencedError,
  type Job,
  type ResultRow,
  Store,
  type Token,
  type WorkerRow,
} from './store';

/** Open the store named by a URL and migrate it to the latest schema. */
export async function openStore(url: string, now?: () => number): Promise<Store> {
  const { db, dialect } = await openDb(url);
  await migrate(db);
  return new Store(db, dialect, now);
}
