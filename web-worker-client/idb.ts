import type { ByteCache } from '../worker/host';

/** One IndexedDB database with a byte store (data chunks) and a small key-value store (token, worker id, stats). */
function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open('grid-volunteer', 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore('bytes');
      req.result.createObjectStore('state');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

let db: Promise<IDBDatabase> | undefined;
const tx = async <T>(store: string, mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> => {
  // A failed open is not cached: the next call tries again.
  db ??= open().catch((e) => {
    db = undefined;
    throw e;
  });
  const d = await db;
  return new Promise((resolve, reject) => {
    const r = f(d.transaction(store, mode).objectStore(store));
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
};

export const idbCache: ByteCache = {
  get: (key) => tx<Uint8Array | undefined>('bytes', 'readonly', (s) => s.get(key)),
  put: async (key, bytes) => void (await tx('bytes', 'readwrite', (s) => s.put(bytes, key))),
};

export const state = {
  get: <T>(key: string) => tx<T | undefined>('state', 'readonly', (s) => s.get(key)),
  set: async (key: string, value: unknown) => void (await tx('state', 'readwrite', (s) => s.put(value, key))),
};
