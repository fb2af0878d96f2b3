import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { DatasetManifest } from '../../protocol/dataset';
import { GridError } from '../../protocol/errors';
import type { Targets } from '../../protocol/targets';
import type { DatasetFile, Store } from '../store/index';
import type { CsvTargets } from './csv';
import { fashionMnistAvailable, type LoadedDataset, loadFashionMnist, loadFashionMnistOffLoop } from './datasets';
import { npyDataset } from './npy-dataset';
import { parseOffThread, textOffThread } from './parse-threads';
import type { TokenizerChoice } from './text';

/**
 * Data sets the coordinator serves, by "name/split": Fashion-MNIST is built in; uploads (CSV, .npy, text) are kept in
 * the database with the files they are built from, so every coordinator on it serves them, each from a copy of the
 * file in its own data dir, made the first time it is asked for one (`ensure`).
 */
export class DatasetRegistry {
  private readonly loaded = new Map<string, LoadedDataset>();
  private readonly loading = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly dataDir: string,
    private readonly fashionDir?: string,
    private readonly onError: (message: string) => void = () => {},
  ) {}

  /** Load every data set uploaded before, here or to another coordinator on the database; one that fails is logged. */
  async init() {
    for (const row of await this.store.listDatasets())
      await this.load(row).catch((e) => this.onError(`could not load data set ${row.name}/${row.split}: ${e}`));
  }

  /**
   * Load a data set here if it is not yet: the built-in one unpacked off the event loop (a job's first lease waits for
   * it, the coordinator's sockets need not), a registered one from the database (another coordinator took the upload);
   * unknown ones stay unknown.
   */
  async ensure(name: string, split: string) {
    const key = `${name}/${split}`;
    if (this.loaded.has(key)) return;
    const builtIn = this.builtIn(name, split);
    let loading = this.loading.get(key);
    if (!loading) {
      const load = builtIn
        ? () => loadFashionMnistOffLoop(builtIn, this.fashionDir).then((ds) => void this.keepBuiltIn(key, ds))
        : () => this.loadRow(name, split);
      loading = load().finally(() => this.loading.delete(key));
      this.loading.set(key, loading);
    }
    await loading;
  }

  private async loadRow(name: string, split: string) {
    const row = await this.store.dataset(name, split);
    if (row) await this.load(row);
  }

  /** The split of the built-in data set `name/split` names, when its files are here. */
  private builtIn(name: string, split: string): 'train' | 'test' | undefined {
    return name === 'fashion-mnist' && (split === 'train' || split === 'test') && fashionMnistAvailable(split, this.fashionDir) ? split : undefined;
  }

  /** `get`, once `ensure` has loaded it. */
  async require(name: string, split: string) {
    await this.ensure(name, split);
    return this.get(name, split);
  }

  /** Build an uploaded data set from its file, parsed as it was at upload (its targets and tokenizer are in its manifest). */
  private async load(row: { name: string; split: string; source: string; manifest?: string }) {
    if (this.loaded.has(`${row.name}/${row.split}`)) return;
    const text = /^text:(\d+):(.*)$/.exec(row.source);
    const kind = text ? 'text' : row.source.slice(0, 4);
    if (kind !== 'text' && kind !== 'csv:' && kind !== 'npy:') return; // built in: not an upload
    const path = await this.localFile(text ? text[2] : row.source.slice(4));
    if (!path) return; // neither here nor in the database: uploaded to another host before files were kept there
    const stored = row.manifest ?? (await this.store.dataset(row.name, row.split))?.manifest; // the list at start has no manifests
    const manifest = JSON.parse(stored ?? '{}') as Partial<DatasetManifest>;
    if (text) {
      const choice: TokenizerChoice = manifest.tokenizer ? { kind: 'stored', tokenizer: manifest.tokenizer } : { kind: 'char' };
      await this.addText(row.name, readFileSync(path), Number(text[1]), choice); // a BPE is not trained twice
    } else if (kind === 'csv:')
      this.loaded.set(`${row.name}/${row.split}`, await parseOffThread(row.name, row.split, createReadStream(path), manifest.targets));
    else {
      // Targets given as a second .npy come from their own file, kept beside the inputs'.
      const targets = manifest.targets && (await this.localFile(targetsFile(path)));
      if (manifest.targets && !targets) return;
      const t = targets ? readFileSync(targets) : undefined;
      this.loaded.set(`${row.name}/${row.split}`, npyDataset(row.name, row.split, readFileSync(path), t, manifest.targets?.kind));
    }
  }

  /**
   * An upload's file in this data dir, copied from the database when this host lacks it; a file only this host has
   * (uploaded before files were kept in the database) is stored there now.
   */
  private async localFile(source: string): Promise<string | undefined> {
    const file = basename(source);
    const path = join(this.dataDir, 'datasets', file);
    const stored = await this.store.hasDatasetFile(file);
    if (existsSync(path)) {
      if (!stored) await this.store.putDatasets([], fileParts(path));
      return path;
    }
    if (!stored) return undefined;
    mkdirSync(join(this.dataDir, 'datasets'), { recursive: true });
    const part = `${path}.${process.pid}.part`;
    await pipeline(Readable.from(this.store.datasetFile(file)), createWriteStream(part));
    renameSync(part, path);
    return path;
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
    const row = { name, split, source: `npy:${path}`, samples: m.samples, classes: 0, manifest: m, token_id: tokenId };
    await this.store.putDatasets([row], { name: basename(path), parts: () => [bytes] });
    this.loaded.set(`${name}/${split}`, ds);
    return ds;
  }

  /**
   * A text corpus (UTF-8, or the `.txt` files of a zip or a tar: text-archive.ts) as a language-model data set of
   * `blockSize` tokens (by character or BPE): `name/train` and `name/validation` (text.ts), registered once both are
   * built; the text is kept in the data dir.
   */
  async uploadText(name: string, bytes: Uint8Array, blockSize: number, tokenId: number | null = null, choice: TokenizerChoice = { kind: 'char' }) {
    const path = this.uploadPath(name, 'text', 'txt');
    const { train, validation, text } = await this.addText(name, bytes, blockSize, choice);
    writeFileSync(`${path}.part`, text);
    renameSync(`${path}.part`, path);
    const rows = [train, validation].map(({ manifest: m }) => ({
      ...{ name, split: m.split, source: `text:${blockSize}:${path}` },
      ...{ samples: m.samples, classes: m.classes, manifest: m, token_id: tokenId },
    }));
    await this.store.putDatasets(rows, { name: basename(path), parts: () => [text] });
    return train;
  }

  /**
   * Targets for an uploaded `.npy` of inputs (`kind`: class, multi-label or regression), as a second `.npy` with a
   * row per sample: the data set is built again with them, and both files are kept.
   */
  async uploadNpyTargets(name: string, split: string, bytes: Uint8Array, kind: Targets['kind'], tokenId: number | null = null) {
    const inputs = this.uploadPath(name, split, 'npy');
    await this.ensure(name, split); // its inputs' file may have been uploaded to another coordinator
    if (!existsSync(inputs)) throw new GridError('NOT_FOUND', `no .npy inputs for ${name}/${split}: upload them first (?format=npy)`);
    const ds = npyDataset(name, split, readFileSync(inputs), bytes, kind);
    const path = targetsFile(inputs);
    writeFileSync(`${path}.part`, bytes);
    renameSync(`${path}.part`, path);
    const m = ds.manifest;
    const row = { name, split, source: `npy:${inputs}`, samples: m.samples, classes: m.classes, manifest: m, token_id: tokenId };
    await this.store.putDatasets([row], { name: basename(path), parts: () => [bytes] });
    this.loaded.set(`${name}/${split}`, ds);
    return ds;
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
    if (!ds && name === 'fashion-mnist' && (split === 'train' || split === 'test')) ds = this.keepBuiltIn(key, loadFashionMnist(split, this.fashionDir));
    if (!ds) throw new GridError('NOT_FOUND', `no data set ${key}`);
    return ds;
  }

  /** The first load of a built-in split is kept (a load that raced it is dropped) and recorded for the list. */
  private keepBuiltIn(key: string, ds: LoadedDataset): LoadedDataset {
    const kept = this.loaded.get(key);
    if (kept) return kept;
    this.loaded.set(key, ds);
    const [name, split] = key.split('/');
    // Recorded for the data set list only; a failed write must not become an unhandled rejection.
    this.store
      .putDataset({ name, split, source: 'debian:dataset-fashion-mnist', samples: ds.manifest.samples, classes: 10, manifest: ds.manifest })
      .catch((e) => this.onError(`could not record ${key}: ${e}`));
    return ds;
  }

  /** Whether `get` would succeed, without loading anything. */
  has(name: string, split: string) {
    return this.loaded.has(`${name}/${split}`) || this.builtIn(name, split) !== undefined;
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
      const row = { name, split, source: `csv:${path}`, samples: manifest.samples, classes: manifest.classes, manifest, token_id: tokenId };
      await this.store.putDatasets([row], fileParts(path));
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

/** A file of this data dir as the database keeps it, read in parts of 1 MiB. */
const fileParts = (path: string): DatasetFile => ({ name: basename(path), parts: () => createReadStream(path, { highWaterMark: 1 << 20 }) });

/** Where a `.npy` data set's targets file lies: beside its inputs'. */
const targetsFile = (inputs: string) => inputs.replace(/\.npy$/, '.targets.npy');
