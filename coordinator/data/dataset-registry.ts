import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';
import type { DatasetManifest } from '../../protocol/dataset';
import { type ErrorCode, GridError } from '../../protocol/errors';
import { decodeNpy } from '../../protocol/npy';
import type { Store } from '../store/index';
import type { CsvTargets } from './csv';
import { buildDataset, fashionMnistAvailable, type LoadedDataset, loadFashionMnist } from './datasets';
import type { TokenizerChoice } from './text';

/** Data sets the coordinator serves, by "name/split"; Fashion-MNIST is built in, CSV uploads persist in the data dir. */
export class DatasetRegistry {
  private readonly loaded = new Map<string, LoadedDataset>();

  constructor(
    private readonly store: Store,
    private readonly dataDir: string,
    private readonly fashionDir?: string,
    private readonly onError: (message: string) => void = () => {},
  ) {}

  /** Register what is available at start: Fashion-MNIST if installed, and every CSV and .npy uploaded before. */
  async init() {
    for (const row of await this.store.listDatasets()) {
      const [kind, path] = [row.source.slice(0, 4), row.source.slice(4)];
      if (row.source.startsWith('text:')) {
        const [, blockSize, file] = row.source.match(/^text:(\d+):(.*)$/) ?? [];
        // Tokenized again with the tokenizer recorded at upload (a BPE is not trained twice).
        const stored = await this.store.dataset(row.name, row.split);
        const tokenizer = stored && (JSON.parse(stored.manifest) as DatasetManifest).tokenizer;
        const choice: TokenizerChoice = tokenizer ? { kind: 'stored', tokenizer } : { kind: 'char' };
        if (file && existsSync(file) && !this.loaded.has(`${row.name}/train`)) await this.addText(row.name, readFileSync(file), Number(blockSize), choice);
        continue;
      }
      if (!existsSync(path)) continue;
      if (kind === 'csv:') {
        // Parsed as it was uploaded: its targets are in the manifest recorded then.
        const stored = await this.store.dataset(row.name, row.split);
        const targets = stored && (JSON.parse(stored.manifest) as DatasetManifest).targets;
        this.loaded.set(`${row.name}/${row.split}`, await parseOffThread(row.name, row.split, createReadStream(path), targets));
      }
      if (kind === 'npy:') this.loaded.set(`${row.name}/${row.split}`, npyDataset(row.name, row.split, readFileSync(path)));
    }
  }

  /**
   * A raw tensor upload (numpy `.npy`, first dimension the samples): inputs for inference, without labels. Parsed
   * whole (the body limit bounds it), kept in the data dir, registered.
   */
  async uploadNpy(name: string, split: string, bytes: Uint8Array, tokenId: number | null = null): Promise<LoadedDataset> {
    const path = this.uploadPath(name, split, 'npy');
    const ds = npyDataset(name, split, bytes);
    writeFileSync(`${path}.part`, bytes);
    renameSync(`${path}.part`, path);
    const m = ds.manifest;
    await this.store.putDataset({ name, split, source: `npy:${path}`, samples: m.samples, classes: 0, manifest: m, token_id: tokenId });
    this.loaded.set(`${name}/${split}`, ds);
    return ds;
  }

  /**
   * A text corpus (UTF-8) as a language-model data set of `blockSize` tokens (by character or BPE): `name/train` and
   * `name/validation` (text.ts), registered once both are built; the text is kept in the data dir.
   */
  async uploadText(name: string, bytes: Uint8Array, blockSize: number, tokenId: number | null = null, choice: TokenizerChoice = { kind: 'char' }) {
    const path = this.uploadPath(name, 'text', 'txt');
    const { train, validation } = await this.addText(name, bytes, blockSize, choice);
    writeFileSync(`${path}.part`, bytes);
    renameSync(`${path}.part`, path);
    for (const ds of [train, validation]) {
      const m = ds.manifest;
      await this.store.putDataset({
        name,
        split: m.split,
        source: `text:${blockSize}:${path}`,
        samples: m.samples,
        classes: m.classes,
        manifest: m,
        token_id: tokenId,
      });
    }
    return train;
  }

  private async addText(name: string, bytes: Uint8Array, blockSize: number, choice: TokenizerChoice) {
    const splits = await textOffThread(name, bytes, blockSize, choice);
    for (const ds of [splits.train, splits.validation]) this.loaded.set(`${name}/${ds.manifest.split}`, ds);
    return splits;
  }

  private uploadPath(name: string, split: string, ext: 'csv' | 'npy' | 'txt') {
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(name) || !/^[a-z0-9_-]{1,40}$/i.test(split) || name === 'fashion-mnist')
      throw new GridError('BAD_REQUEST', 'data set name must be [A-Za-z0-9._-] and not a built-in name');
    mkdirSync(join(this.dataDir, 'datasets'), { recursive: true });
    return join(this.dataDir, 'datasets', `${name}.${split}.${ext}`);
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

  /**
   * Parse a CSV upload as it streams in (in a worker thread) while spooling it to the data dir; registered only
   * when all of it parsed. A bad row fails the upload at once, naming the line, and leaves nothing behind.
   */
  async uploadCsv(
    name: string,
    split: string,
    body: AsyncIterable<Uint8Array> | string,
    tokenId: number | null = null,
    targets?: CsvTargets,
  ): Promise<LoadedDataset> {
    const path = this.uploadPath(name, split, 'csv');
    const spool = `${path}.${process.pid}.${Date.now()}.part`;
    const file = createWriteStream(spool);
    let writeError: Error | undefined;
    file.on('error', (e) => {
      writeError ??= e; // disk full, or writes still queued when a refused upload is dropped
    });
    const copy = async function* (): AsyncIterable<Uint8Array> {
      for await (const chunk of typeof body === 'string' ? [Buffer.from(body)] : body) {
        if (!file.write(chunk) && !writeError) await once(file, 'drain').catch(() => {}); // the disk sets the pace, not memory
        yield chunk;
      }
    };
    try {
      const ds = await parseOffThread(name, split, copy(), targets);
      file.end();
      await finished(file).catch(() => {});
      if (writeError) throw new GridError('INTERNAL', `could not store the upload: ${writeError.message}`);
      renameSync(spool, path);
      const manifest = ds.manifest;
      await this.store.putDataset({ name, split, source: `csv:${path}`, samples: manifest.samples, classes: manifest.classes, manifest, token_id: tokenId });
      this.loaded.set(`${name}/${split}`, ds);
      return ds;
    } catch (e) {
      file.destroy();
      await finished(file).catch(() => {}); // the file may still be opening: remove it once closed, not before
      rmSync(spool, { force: true });
      throw e;
    }
  }

  async list() {
    return this.store.listDatasets();
  }
}

/** An `.npy` of shape [samples, ...features] as a data set without labels. */
function npyDataset(name: string, split: string, bytes: Uint8Array): LoadedDataset {
  const a = decodeNpy(bytes);
  if (a.shape.length < 2 || a.shape[0] < 1) throw new GridError('BAD_REQUEST', `.npy of shape [${a.shape}]: expected [samples, features...]`);
  if (a.shape[0] > 1 << 24) throw new GridError('BAD_REQUEST', `${a.shape[0]} samples is more than a data set may hold`);
  return buildDataset(name, split, new Uint8Array(a.shape[0]), a.values, a.shape.slice(1), 0);
}

/** A text data set's splits built in a worker thread (text-thread.ts). */
function textOffThread(name: string, bytes: Uint8Array, blockSize: number, choice: TokenizerChoice) {
  const thread = new Worker(new URL('./text-thread-entry.mjs', import.meta.url), { workerData: { name, bytes, blockSize, choice } });
  return new Promise<{ train: LoadedDataset; validation: LoadedDataset }>((resolve, reject) => {
    thread.once('message', (m: { ok?: { train: LoadedDataset; validation: LoadedDataset }; error?: { code: ErrorCode; message: string } }) => {
      if (m.error || !m.ok) return reject(new GridError(m.error?.code ?? 'INTERNAL', m.error?.message ?? 'no data set from the text thread'));
      const buffers = (ds: LoadedDataset) => ({ ...ds, chunks: ds.chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)) });
      resolve({ train: buffers(m.ok.train), validation: buffers(m.ok.validation) });
    });
    thread.once('error', reject);
    thread.once('exit', (code) => code !== 0 && reject(new GridError('INTERNAL', `text thread exited with ${code}`)));
  });
}

/** Bytes of an upload posted to the parser thread and not yet parsed, at most. */
const MAX_UNPARSED = 4 << 20;

/** Parse CSV chunks in a worker thread as they come (tsx loads the TypeScript there too); stops reading at its first error. */
async function parseOffThread(name: string, split: string, chunks: AsyncIterable<Uint8Array>, targets?: CsvTargets): Promise<LoadedDataset> {
  const thread = new Worker(new URL('./csv-thread-entry.mjs', import.meta.url), { workerData: { name, split, targets } });
  let inFlight = 0;
  let parsed: (() => void) | undefined;
  const outcome = new Promise<LoadedDataset>((resolve, reject) => {
    thread.on('message', (m: { parsed?: number; ok?: LoadedDataset; error?: { code: ErrorCode; message: string } }) => {
      if (m.parsed !== undefined) {
        inFlight -= m.parsed;
        return parsed?.();
      }
      if (m.error) return reject(new GridError(m.error.code, m.error.message));
      const ds = m.ok as LoadedDataset;
      resolve({ ...ds, chunks: ds.chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)) });
    });
    thread.once('error', reject);
    thread.once('exit', (code) => code !== 0 && reject(new GridError('INTERNAL', `CSV parser thread exited with ${code}`)));
  });
  // A refusal from the parser ends the upload at once, without waiting for the client's next chunk.
  const refused = outcome.then(
    () => new Promise<never>(() => {}),
    (e) => ({ refused: e as unknown }),
  );
  const it = chunks[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await Promise.race([it.next(), refused]);
      if ('refused' in next) throw next.refused;
      if (next.done) break;
      const copy = new Uint8Array(next.value); // transferred: the caller's buffer stays usable
      inFlight += copy.byteLength; // counted before the transfer detaches it
      thread.postMessage({ chunk: copy }, [copy.buffer]);
      // The parser sets the pace: past a few MB unparsed, wait for it (or for its refusal) before reading on.
      while (inFlight > MAX_UNPARSED) {
        const more = await Promise.race([new Promise<void>((r) => (parsed = r)), refused]);
        if (more && 'refused' in more) throw more.refused;
      }
    }
    thread.postMessage({ end: true });
    return await outcome;
  } finally {
    void it.return?.(); // stop reading the body: what still arrives is dropped
    void thread.terminate();
  }
}
