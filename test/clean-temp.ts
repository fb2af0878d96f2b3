import { afterAll } from 'vitest';
import { removeTempDirs } from './temp-dirs';

// Every test file's temporary directories (data dirs, caches, downloads) go when its tests are done, so repeated runs
// on one machine do not fill its disk (thousands of them once filled this one's). A setup file, not the helper, so the
// benchmarks that share the helper outside vitest are untouched.
afterAll(removeTempDirs);
