import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ByteCache } from '../worker/host';

/** Content-addressed files under `dir`; keys are already hashes, so names never collide or escape. */
export function fileCache(dir: string): ByteCache {
  const path = (key: string) => join(dir, key.replace(/[^a-z0-9]/gi, '_'));
  return {
    async get(key) {
      try {
        return new Uint8Array(await readFile(path(key)));
      } catch {
        return undefined;
      }
    },
    async put(key, bytes) {
      await mkdir(dir, { recursive: true });
      const tmp = `${path(key)}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, path(key));
    },
  };
}
