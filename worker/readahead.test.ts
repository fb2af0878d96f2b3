import { describe, expect, it } from 'vitest';
import type { DataRef } from './data';
import { Readahead } from './readahead';

const ref = (cursor: number, count = 4, seed = 1): DataRef => ({ dataset: 'd', split: 'train', seed, cursor, count });

function counted() {
  const loads: number[] = [];
  const ahead = new Readahead(async (r: DataRef) => {
    loads.push(r.cursor);
    return `batch@${r.cursor}`;
  });
  return { ahead, loads };
}

describe('sequential readahead of training batches', () => {
  it('gathers the next run once two shards in a row followed each other, and hands it over', async () => {
    const { ahead, loads } = counted();
    expect(await ahead.take(ref(0))).toBe('batch@0');
    ahead.done(ref(0)); // one shard proves no pattern
    expect(await ahead.take(ref(4))).toBe('batch@4');
    ahead.done(ref(4));
    expect(loads).toEqual([0, 4, 8]); // gathered before its assignment
    expect(await ahead.take(ref(8))).toBe('batch@8');
    expect(loads).toEqual([0, 4, 8]); // not gathered again
  });

  it('gathers nothing ahead for shards out of order or of another seed or size, nor one already taken', async () => {
    const { ahead, loads } = counted();
    for (const r of [ref(0), ref(12), ref(16, 8), ref(24, 8, 2)]) {
      await ahead.take(r);
      ahead.done(r);
    }
    expect(loads).toEqual([0, 12, 16, 24]);
    await ahead.take(ref(32, 8, 2));
    await ahead.take(ref(40, 8, 2)); // queued, and prepared while the shard before it runs
    ahead.done(ref(32, 8, 2)); // in order, but what follows is taken already
    expect(loads).toEqual([0, 12, 16, 24, 32, 40]);
  });
});
