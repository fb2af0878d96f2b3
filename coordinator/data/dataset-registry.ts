import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type ErrorCode, GridError } from '../../protocol/errors';
import type { Store } from '../store/index';
import { fashionMnistAvailable, type LoadedDataset, loadFashionMnist, parseCsvDataset } from './datasets';

/** Data sets the coordinator serves, by "name/split"; Fashion-MNIST is built in, CSV uploads persist in the data dir. */
export class DatasetRegistry {
  private readonly loaded = new Map<string, LoadedDataset>();

  constructor(
    private readonly store: Store,
    private readonly dataDir: string,
    private readonly fashionDir?: string,
    private readonly onError: (message: string) => void = () => {},
  ) {}

  /** Register what is available at start: Fashion-MNIST if installed, and every CSV uploaded before. */
  async init() {
    for (const row of await this.store.listDatasets())
      if (row.source.startsWith('csv:') && existsSync(row.source.slice(4)))
        this.loaded.set(`${row.name}/${row.split}`, parseCsvDataset(row.name, row.split, readFileSync(row.source.slice(4), 'utf8')));
  }

  get(name: string, split: string): LoadedDataset {
    const key = `${name}/${split}`;
    let ds = this.loaded.get(key);
    if (!ds && name === 'fashion-mnist' && (split === 'train' || split === 'test')) {
      ds = loadFashionMnist(split, this.fashionDir);
      this.loaded.set(key, ds);
      // Recorded for the data set list only; a failed write must not become an unhandled rejection.
      this.store
        .putDataset({ name, split, source: 'debian:dataset-fashion-mnist', samples: ds.manifest.samples, classes: 10, manifest: ds.manifest })
        .catch((e) => this.onError(`could not record ${key}: ${e}`));
    }
    if (!ds) throw new GridError('NOT_FOUND', `no data set ${key}`);
    return ds;
  }

  /** Whether `get` would succeed, without loading anything. */
  has(name: string, split: string) {
    if (this.loaded.has(`${name}/${split}`)) return true;
    return name === 'fashion-mnist' && (split === 'train' || split === 'test') && fashionMnistAvailable(split, this.fashionDir);
  }

  async uploadCsv(name: string, split: string, text: string | Uint8Array, tokenId: number | null = null): Promise<LoadedDataset> {
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(name) || !/^[a-z0-9_-]{1,40}$/i.test(split) || name === 'fashion-mnist')
      throw new GridError('BAD_REQUEST', 'data set name must be [A-Za-z0-9._-] and not a built-in name');
    const ds = await parseOffThread(name, split, typeof text === 'string' ? Buffer.from(text) : text);
    mkdirSync(join(this.dataDir, 'datasets'), { recursive: true });
    const path = join(this.dataDir, 'datasets', `${name}.${split}.csv`);
    writeFileSync(path, text);
    await this.store.putDataset({
      name,
      split,
      source: `csv:${path}`,
      samples: ds.manifest.samples,
      classes: ds.manifest.classes,
      manifest: ds.manifest,
      token_id: tokenId,
    });
    this.loaded.set(`${name}/${split}`, ds);
    return ds;
  }

  async list() {
    return this.store.listDatasets();
  }
}

/** Parse a CSV upload in a worker thread (tsx loads the TypeScript there too): a 100 MB file takes seconds to parse. */
function parseOffThread(name: string, split: string, bytes: Uint8Array): Promise<LoadedDataset> {
  return new Promise((resolve, reject) => {
    const thread = new Worker(new URL('./csv-thread-entry.mjs', import.meta.url), { workerData: { name, split, bytes } });
    thread.once('message', (m: { ok?: LoadedDataset; error?: { code: ErrorCode; message: string } }) => {
      if (m.error) return reject(new GridError(m.error.code, m.error.message));
      const ds = m.ok as LoadedDataset;
      resolve({ ...ds, chunks: ds.chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)) });
    });
    thread.once('error', reject);
    thread.once('exit', (code) => code !== 0 && reject(new GridError('INTERNAL', `CSV parser thread exited with ${code}`)));
  });
}
