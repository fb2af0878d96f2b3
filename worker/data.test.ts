import { describe, expect, it } from 'vitest';
import { DataClient } from './data';
import { memoryCache } from './host';
import { toyCoordinator } from './testing.fixtures';

describe('the data client', () => {
  it('downloads a chunk once when two shards ask for it at once (a worker holding two assignments at start)', async () => {
    const toy = await toyCoordinator();
    const data = new DataClient('http://c', 'tok', memoryCache(), toy.fetch);
    const release = toy.hold();
    const both = Promise.all([
      data.batch({ dataset: 'toy', split: 'train', seed: 1, cursor: 0, count: 4 }),
      data.batch({ dataset: 'toy', split: 'train', seed: 2, cursor: 0, count: 4 }),
    ]);
    await new Promise((r) => setTimeout(r, 10));
    release();
    const [a, b] = await both;
    expect([a.x.length, b.x.length]).toEqual([12, 12]);
    expect(toy.requests.filter((u) => u.includes('/chunks/'))).toHaveLength(1);
  });

  it('fetches a chunk again after a download failed: a failure is not kept', async () => {
    const toy = await toyCoordinator();
    let fail = true;
    const flaky = (async (url: string, init?: RequestInit) => {
      if (url.includes('/chunks/') && fail) {
        fail = false;
        throw new Error('connection reset');
      }
      return toy.fetch!(url, init);
    }) as typeof toy.fetch;
    const data = new DataClient('http://c', 'tok', memoryCache(), flaky);
    await expect(data.batch({ dataset: 'toy', split: 'train', seed: 1, cursor: 0, count: 4 })).rejects.toThrow('connection reset');
    expect((await data.batch({ dataset: 'toy', split: 'train', seed: 1, cursor: 0, count: 4 })).x.length).toBe(12);
  });
});
