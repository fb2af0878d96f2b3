import { describe, expect, it } from 'vitest';
import { gatherBatch } from '../../protocol/dataset';
import { encodeNpy } from '../../protocol/npy';
import { sampleIndices } from '../../protocol/sampling';
import { tempDir } from '../../test/helpers';
import { openStore } from '../store/index';
import { CsvParser, parseCsvDataset } from './csv';
import { DatasetRegistry } from './dataset-registry';
import { loadFashionMnist } from './datasets';

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

  it('parses the same data set whatever the chunk boundaries (split lines, numbers, CRLF, UTF-8 characters)', () => {
    const text = 'größe,b,label\r\n1.25,2,0\r\n3.5,-4e-1,2\r\n\r\n5,6,1';
    const bytes = new TextEncoder().encode(text);
    const whole = parseCsvDataset('t', 'train', text);
    expect(Array.from(whole.features)).toEqual([1.25, 2, 3.5, -0.4000000059604645, 5, 6]);
    for (let size = 1; size <= 5; size++) {
      const parser = new CsvParser();
      for (let i = 0; i < bytes.length; i += size) parser.push(bytes.subarray(i, i + size));
      const ds = parser.finish('t', 'train');
      expect([Array.from(ds.features), Array.from(ds.labels), ds.manifest.classes]).toEqual([Array.from(whole.features), [0, 2, 1], 3]);
    }
    expect(() => new CsvParser().push(new Uint8Array([0x31, 0x2c, 0xff, 0x0a]))).toThrow(/UTF-8/);
  });

  it('holds classes past 256 as u16, multi-label targets as 0/1 bytes and regression targets as f32, chunk by chunk', () => {
    const many = parseCsvDataset('tokens', 'train', '1,2,300\n3,4,65535\n5,6,7\n');
    expect(many.manifest).toMatchObject({ classes: 65536, targets: { kind: 'class', width: 1, dtype: 'u16' } });
    expect(Array.from(gatherBatch(many.manifest, (c) => many.chunks[c], [1, 0, 2]).y)).toEqual([65535, 300, 7]);

    const tags = parseCsvDataset('tags', 'train', '0.5,1,0,1\n-1,0,1,1\n', { kind: 'multi-label', width: 3 });
    expect(tags.manifest).toMatchObject({ featureShape: [1], classes: 3, targets: { kind: 'multi-label', width: 3, dtype: 'u8' } });
    const t = gatherBatch(tags.manifest, (c) => tags.chunks[c], [1, 0]);
    expect([Array.from(t.x), Array.from(t.targets ?? [])]).toEqual([
      [-1, 0.5],
      [0, 1, 1, 1, 0, 1],
    ]);

    // More samples than a chunk holds: the targets of a later chunk are read from that chunk.
    const rows = Array.from({ length: 5000 }, (_, i) => `${i},${i / 4},${-i}`).join('\n');
    const values = parseCsvDataset('values', 'train', rows, { kind: 'regression', width: 2 });
    expect(values.manifest).toMatchObject({ samples: 5000, classes: 0, targets: { kind: 'regression', width: 2, dtype: 'f32' } });
    expect(values.manifest.chunks.length).toBe(2);
    const r = gatherBatch(values.manifest, (c) => values.chunks[c], [4999, 3]);
    expect([Array.from(r.x), Array.from(r.targets ?? [])]).toEqual([
      [4999, 3],
      [4999 / 4, -4999, 0.75, -3],
    ]);
  });

  it('refuses targets that do not fit their kind, with the line and column at fault', () => {
    expect(() => parseCsvDataset('t', 'train', '1,2,65536\n')).toThrow(/label must be an integer 0..65535/);
    expect(() => parseCsvDataset('t', 'train', '1,0,2\n', { kind: 'multi-label', width: 2 })).toThrow(/line 1 column 3 must be 0 or 1/);
    expect(() => parseCsvDataset('t', 'train', '1,0,x\n', { kind: 'regression', width: 2 })).toThrow(/line 1 column 3 is not a number/);
    expect(() => parseCsvDataset('t', 'train', '1,0\n', { kind: 'regression', width: 2 })).toThrow(/2 target columns/);
  });

  it('refuses an endless line as soon as it passes the bound, and a row too wide, before holding them', () => {
    const parser = new CsvParser().push(new TextEncoder().encode('1,2,0\n'));
    const chunk = new TextEncoder().encode('7,'.repeat(1 << 16)); // 128 KiB of one line, no newline
    let refusedAt = 0;
    try {
      for (let i = 1; i <= 64; i++) {
        refusedAt = i;
        parser.push(chunk);
      }
    } catch (e) {
      expect((e as Error).message).toMatch(/CSV line 2 is longer than 1048576 characters/);
    }
    expect(refusedAt).toBe(9); // the first chunk past 1 MiB, not the whole 8 MiB
    expect(() => parseCsvDataset('t', 'train', `${'1,'.repeat(100_000)}0\n`)).toThrow(/100001 columns; at most 100000/);
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

  it('unpacks the built-in data set off the event loop when a job ensures it, once for callers at once', async () => {
    const store = await openStore(':memory:');
    const registry = new DatasetRegistry(store, tempDir('grid-ds-'));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await Promise.all([registry.ensure('fashion-mnist', 'train'), registry.ensure('fashion-mnist', 'train')]);
    clearInterval(timer);
    // Unpacked on the event loop, no timer could fire until it was done (0.5 s here).
    expect(ticks).toBeGreaterThanOrEqual(3);
    const ds = registry.get('fashion-mnist', 'train');
    expect(ds.manifest).toEqual(loadFashionMnist('train').manifest);
    await registry.ensure('fashion-mnist', 'train');
    expect(registry.get('fashion-mnist', 'train')).toBe(ds);
    await store.close();
  });

  it('serves every upload from a coordinator with another data dir on the same database: the files are in the database', async () => {
    const store = await openStore(':memory:');
    const [dirA, dirB] = [tempDir('grid-ds-a-'), tempDir('grid-ds-b-')];
    const a = new DatasetRegistry(store, dirA);
    const b = new DatasetRegistry(store, dirB);
    await b.init(); // started before the uploads: it learns of them when asked
    await a.uploadCsv('values', 'train', '1,2,0.5,-1\n3,4,1.5,2\n', null, { kind: 'regression', width: 2 });
    await a.uploadNpy('inputs', 'test', encodeNpy('<f4', [2, 3], new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer)));
    const labelled = await a.uploadNpyTargets('inputs', 'test', encodeNpy('<i4', [2], new Uint8Array(Int32Array.of(300, 7).buffer)), 'class');
    expect(labelled.manifest).toMatchObject({ classes: 301, targets: { kind: 'class', width: 1, dtype: 'u16' } }); // its second file
    await a.uploadText('tiny', new TextEncoder().encode('to be or not to be, that is the question. '.repeat(40)), 16);
    for (const [name, split] of [
      ['values', 'train'],
      ['inputs', 'test'],
      ['tiny', 'validation'],
    ]) {
      expect(b.has(name, split)).toBe(false);
      const [here, there] = [a.get(name, split), await b.require(name, split)];
      expect(there.manifest).toEqual(here.manifest); // the same chunks, hash for hash
      expect(Buffer.concat(there.chunks).equals(Buffer.concat(here.chunks))).toBe(true);
    }
    expect(b.has('tiny', 'train')).toBe(true); // both splits of a text upload come from its one file
    await expect(b.require('never', 'train')).rejects.toThrow('no data set never/train');
    // A third coordinator on a fresh host loads them all at start.
    const c = new DatasetRegistry(store, tempDir('grid-ds-c-'));
    await c.init();
    expect(['values/train', 'inputs/test', 'tiny/train', 'tiny/validation'].every((k) => c.has(...(k.split('/') as [string, string])))).toBe(true);
    expect(Array.from(gatherBatch(c.get('inputs', 'test').manifest, (i) => c.get('inputs', 'test').chunks[i], [0, 1]).y)).toEqual([300, 7]);
    await store.close();
  });

  it('stores the file of an upload made before files were kept in the database when its host starts again', async () => {
    const store = await openStore(':memory:');
    const dir = tempDir('grid-ds-');
    await new DatasetRegistry(store, dir).uploadCsv('old', 'train', '1,2,0\n3,4,1\n');
    await store.db.deleteFrom('dataset_files').execute(); // as a database migrated from before
    const elsewhere = new DatasetRegistry(store, tempDir('grid-ds-b-'));
    await elsewhere.init();
    expect(elsewhere.has('old', 'train')).toBe(false); // only its host has it
    await new DatasetRegistry(store, dir).init(); // its host starts: the file goes into the database
    expect((await elsewhere.require('old', 'train')).manifest.samples).toBe(2);
    await store.close();
  });

  it('reads an uploaded CSV back on restart with the targets it was uploaded with', async () => {
    const dir = tempDir('grid-ds-');
    const store = await openStore(':memory:');
    const first = new DatasetRegistry(store, dir);
    await first.uploadCsv('values', 'train', '1,2,0.5,-1\n3,4,1.5,2\n', null, { kind: 'regression', width: 2 });
    const again = new DatasetRegistry(store, dir);
    await again.init();
    const ds = again.get('values', 'train');
    expect(ds.manifest).toMatchObject({ featureShape: [2], targets: { kind: 'regression', width: 2, dtype: 'f32' } });
    expect(Array.from(gatherBatch(ds.manifest, (c) => ds.chunks[c], [1]).targets ?? [])).toEqual([1.5, 2]);
    await store.close();
  });
});
