import { type DatasetManifest, type SampleRef, shardBatch, shardIndices } from '../protocol/dataset';
import { type ByteCache, sha256Hex } from './host';

/** Which samples of which data set an assignment names. */
export type DataRef = SampleRef & { dataset: string; split: string };

type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/** Fetches manifests and chunks, verifies each chunk's hash, and keeps them in memory and in the byte cache. */
export class DataClient {
  private readonly manifests = new Map<string, Promise<DatasetManifest>>();
  /** Chunks by sha256, loaded or loading. */
  private readonly chunks = new Map<string, Promise<Uint8Array>>();
  bytesFetched = 0;

  constructor(
    /** The coordinator's base URL; the loop moves it when it fails over to another coordinator. */
    public base: string,
    private readonly token: string,
    private readonly cache: ByteCache,
    // Called as a plain function: browsers refuse fetch invoked with another `this`.
    private readonly fetchFn: Fetch = (url, init) => fetch(url, init),
  ) {}

  /** Sent with every download so the coordinator counts its bytes against this worker. */
  workerId?: string;

  private async get(path: string): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, ...(this.workerId ? { 'grid-worker': this.workerId } : {}) };
    const res = await this.fetchFn(`${this.base}${path}`, { headers });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return res;
  }

  manifest(name: string, split: string): Promise<DatasetManifest> {
    const key = `${name}/${split}`;
    let m = this.manifests.get(key);
    if (!m) {
      m = this.get(`/api/datasets/${encodeURIComponent(name)}/${encodeURIComponent(split)}`).then(async (r) => {
        const text = await r.text();
        this.bytesFetched += text.length;
        return JSON.parse(text) as DatasetManifest;
      });
      m.catch(() => this.manifests.delete(key));
      this.manifests.set(key, m);
    }
    return m;
  }

  /** A chunk from memory, the cache or the coordinator; shards asking for one at once share its download. */
  private chunk(m: DatasetManifest, index: number): Promise<Uint8Array> {
    const { sha256 } = m.chunks[index];
    let loading = this.chunks.get(sha256);
    if (!loading) {
      loading = this.loadChunk(m, index);
      loading.catch(() => this.chunks.delete(sha256)); // a failed download is tried again next time
      this.chunks.set(sha256, loading);
    }
    return loading;
  }

  private async loadChunk(m: DatasetManifest, index: number): Promise<Uint8Array> {
    const { sha256 } = m.chunks[index];
    const hit = await this.cache.get(`chunk:${sha256}`);
    if (hit) return hit;
    const bytes = new Uint8Array(await (await this.get(`/api/datasets/${m.name}/${m.split}/chunks/${index}`)).arrayBuffer());
    this.bytesFetched += bytes.byteLength;
    const got = await sha256Hex(bytes);
    if (got !== sha256) throw new Error(`chunk ${index} of ${m.name}/${m.split} has hash ${got}, manifest says ${sha256}`);
    await this.cache.put(`chunk:${sha256}`, bytes);
    return bytes;
  }

  /** Bytes that fetching an assignment's samples would download: the chunks neither in memory nor in the cache. */
  async missingFor(ref: DataRef): Promise<number> {
    const m = await this.manifest(ref.dataset, ref.split);
    const needed = new Set<number>();
    for (const i of shardIndices(m, ref)) needed.add(Math.floor(i / m.chunkSize));
    let bytes = 0;
    for (const c of needed) {
      const { sha256 } = m.chunks[c];
      if (!this.chunks.has(sha256) && !(await this.cache.get(`chunk:${sha256}`))) bytes += m.chunks[c].bytes;
    }
    return bytes;
  }

  /** The samples `ref` names, as model input (augmented when it says so). */
  async batch(ref: DataRef) {
    const m = await this.manifest(ref.dataset, ref.split);
    const indices = shardIndices(m, ref);
    const needed = new Set<number>();
    for (const i of indices) needed.add(Math.floor(i / m.chunkSize));
    const loaded = new Map<number, Uint8Array>();
    await Promise.all([...needed].map(async (c) => loaded.set(c, await this.chunk(m, c))));
    return shardBatch(m, (c) => loaded.get(c)!, ref, indices);
  }

  /** The size in bytes of a registered model's file. */
  async modelSize(sha256: string): Promise<number> {
    return ((await (await this.get(`/api/models/${sha256}`)).json()) as { bytes: number }).bytes;
  }

  /** A registered model's bytes, by hash (the caller verifies them). */
  async model(sha256: string): Promise<Uint8Array> {
    return new Uint8Array(await (await this.get(`/api/models/${sha256}/model.onnx`)).arrayBuffer());
  }

  /** Current parameters of a job, by version (one download per round). */
  async params(url: string): Promise<Uint8Array> {
    const bytes = new Uint8Array(await (await this.get(url)).arrayBuffer());
    this.bytesFetched += bytes.byteLength;
    return bytes;
  }
}
