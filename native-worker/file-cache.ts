import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ByteCache } from '../worker/host';

/**
 * Files under `dir`, one per key. A key is named by a readable prefix and its sha256: keys hold model specs (an
 * engine's rate for a layer list runs to kilobytes, past any file-name limit), and two keys differing only in
 * punctuation must not share a file.
 */
export function fileCache(dir: string): ByteCache {
  const path = (key: string) => join(dir, `${key.slice(0, 60).replace(/[^a-z0-9]/gi, '_')}-${createHash('sha256').update(key).digest('hex')}`);
  let writes = 0;
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
      const tmp = `${path(key)}.${process.pid}.${++writes}.tmp`; // two writes of one key at once must not share a file
      await writeFile(tmp, bytes);
      await rename(tmp, path(key));
    },
  };
}
