import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers';
import { fileCache } from './file-cache';

describe('the native worker file cache', () => {
  it('keeps a value under a key longer than a file name may be (an engine rate keyed by a whole layer list)', async () => {
    const cache = fileCache(tempDir('grid-file-cache-'));
    const key = `engine-rate:ort-node:cpu:${JSON.stringify({ layers: Array(200).fill({ type: 'conv2d', filters: 16 }) })}`;
    await cache.put(key, Uint8Array.of(1, 2, 3));
    expect(await cache.get(key)).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('keeps keys that differ only in punctuation apart', async () => {
    const cache = fileCache(tempDir('grid-file-cache-'));
    await cache.put('rate:a', Uint8Array.of(1));
    await cache.put('rate_a', Uint8Array.of(2));
    expect([await cache.get('rate:a'), await cache.get('rate_a'), await cache.get('rate-b')]).toEqual([Uint8Array.of(1), Uint8Array.of(2), undefined]);
  });

  it('takes two writes of one key at once (two shards fetching the same chunk): both land, the value is whole', async () => {
    const cache = fileCache(tempDir('grid-file-cache-'));
    const bytes = new Uint8Array(1 << 20).fill(7);
    await Promise.all([cache.put('chunk:x', bytes), cache.put('chunk:x', bytes)]);
    expect(await cache.get('chunk:x')).toEqual(bytes);
  });
});
