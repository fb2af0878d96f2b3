import { describe, expect, it } from 'vitest';
import { gatherBatch } from '../../protocol/dataset';
import { sampleIndices } from '../../protocol/sampling';
import { tempDir } from '../../test/helpers';
import { openStore } from '../store/index';
import { DatasetRegistry } from './dataset-registry';
import { loadFashionMnist, parseCsvDataset } from './datasets';

describe('data sets', () => {
  it('parses a CSV upload into hashed chunks that workers can gather from', () => {
    const ds = parseCsvDataset('toy', 'train', 'a,b,label\n1,2,0\n3.5,-4,2\n5,6,1\n');
    expect(ds.manifest).toMatchObject({ samples: 3, featureShape: [2], featureDtype: 'f32', classes: 3 });
    expect(ds.manifest.chunks[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    const b = gatherBatch(ds.manifest, (c) => ds.chunks[c], [1, 0]);
    expect(Array.from(b.x)).toEqual([3.5, -4, 1, 2]);
    expect(Array.from(b.y)).toEqual([2, 0]);
  });

  it('refuses malformed CSV with the line at fault', () => {
    expect(() => parseCsvDataset('t', 'train', '1,2,0\n1,x,1\n')).toThrow(/line 2 column 2/);
    expect(() => parseCsvDataset('t', 'train', '1,2,0\n1,2\n')).toThrow(/line 2 has 2 columns/);
    expect(() => parseCsvDataset('t', 'train', '1,2,0.5\n')).toThrow(/label/);
  });

  it('loads Fashion-MNIST from the Debian package with the published sizes', () => {
    const test = loadFashionMnist('test');
    expect(test.manifest).toMatchObject({ samples: 10_000, featureShape: [1, 28, 28], classes: 10 });
    const counts = new Array(10).fill(0);
    for (const y of test.labels) counts[y]++;
    expect(counts).toEqual(new Array(10).fill(1000));
    const b = gatherBatch(test.manifest, (c) => test.chunks[c], [9999]);
    expect(Math.max(...b.x)).toBeLessThanOrEqual(1);
    expect(b.y[0]).toBe(test.labels[9999]);
  });

  it('gives every sample exactly once per epoch of the shuffled stream', () => {
    const idx = Array.from(sampleIndices(7, 1000, 0, 1000)).sort((a, b) => a - b);
    expect(idx).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(sampleIndices(7, 1000, 990, 20)).slice(0, 10)).toEqual(Array.from(sampleIndices(7, 1000, 0, 1000)).slice(990));
  });
});

describe('data set registry', () => {
  it('answers has() without loading, and a failed bookkeeping write is reported, not an unhandled rejection', async () => {
    const store = await openStore(':memory:');
    store.putDataset = () => Promise.reject(new Error('database went away'));
    const errors: string[] = [];
    const registry = new DatasetRegistry(store, tempDir('grid-ds-'), undefined, (m) => errors.push(m));
    expect(registry.has('fashion-mnist', 'test')).toBe(true);
    expect(registry.has('fashion-mnist', 'validation')).toBe(false);
    expect(registry.has('nothing', 'train')).toBe(false);
    expect(registry.get('fashion-mnist', 'test').manifest.samples).toBe(10_000);
    await new Promise((r) => setTimeout(r, 10));
    expect(errors).toEqual(['could not record fashion-mnist/test: Error: database went away']);
    await store.close();
  });
});
