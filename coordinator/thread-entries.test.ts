import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Piscina require()s a thread's entry before it import()s it; require() of an ES module aborted a CI test process once.
describe('piscina thread entries', () => {
  const sources = readdirSync('coordinator', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  const entries = sources.flatMap((file) =>
    [...readFileSync(join('coordinator', file), 'utf8').matchAll(/new Piscina\(\{\s*filename: new URL\('([^']+)'/g)].map((m) => ({ file, entry: m[1] })),
  );

  it('finds every pool', () =>
    expect(entries.map((e) => e.file).sort()).toEqual(['models/onnx-thread.ts', 'models/registry.ts', 'training/aggregate-pool.ts']));

  it.each(entries)('$file starts its threads on CommonJS ($entry)', ({ entry }) => expect(entry).toMatch(/\.cjs$/));
});
