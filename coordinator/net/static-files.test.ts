import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { staticFiles } from './static-files';

describe('static files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grid-static-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'index.html'), '<!doctype html>');
  writeFileSync(join(tmpdir(), 'grid-secret.txt'), 'secret');

  it('caches each file once, whatever the spelling of its path', () => {
    const files = staticFiles([{ prefix: '/', dir }]);
    const spellings = ['/assets/app.js', '/assets/./app.js', '/assets//app.js', '/assets/%61pp.js', '/x/../assets/app.js', '/assets/app%2Ejs'];
    const bodies = new Set(spellings.map((p) => files(p)?.body));
    expect(bodies.size).toBe(1);
    expect(files.cachedFiles()).toBe(1);
    for (let i = 0; i < 200; i++) files(`/assets/${'./'.repeat(i)}app.js`);
    expect(files.cachedFiles()).toBe(1);
  });

  it('never leaves its root and refuses malformed escapes with BAD_REQUEST', () => {
    const files = staticFiles([{ prefix: '/', dir }]);
    expect(files('/../grid-secret.txt')).toBeUndefined();
    expect(files('/%2e%2e/grid-secret.txt')).toBeUndefined();
    expect(() => files('/%E0%A4%A')).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(files('/')?.type).toMatch(/text\/html/);
  });
});
