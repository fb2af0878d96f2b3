import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Temporary directories made through tempDir in this process and not yet removed. */
const made: string[] = [];
export const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};

/** Remove the directories tempDir made (test/clean-temp.ts does after each test file); a file still held is left. */
export function removeTempDirs() {
  for (const dir of made.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // a process still writing there: its file stays, the next cleanup of the machine's /tmp takes it
    }
  }
}
