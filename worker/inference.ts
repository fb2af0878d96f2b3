import { type InferenceEngine, type ModelSession, runBatched } from '../kernels/onnx/session';
import { encodeTensor } from '../protocol/frames';
import { parsePostprocess, postprocess } from '../protocol/inference';
import type { InferAssignment } from '../protocol/messages';
import type { DataClient } from './data';
import { type ByteCache, sha256Hex } from './host';
import type { ComputedShard, ShardRunner } from './shard-runner';

/** Samples timed on each engine before a model's first shard, to pick the fastest. */
const PROBE_SAMPLES = 64;

/**
 * Runs inference shards: fetches each model once by its hash (verified, kept in the byte cache), opens it on every
 * engine this machine has, keeps the fastest on the model's first shard, and runs shards in input order.
 */
export class InferenceRunner implements ShardRunner<InferAssignment> {
  private current?: { sha256: string; open: Promise<{ session: ModelSession; engine: string }> };
  bytesFetched = 0;

  constructor(
    private readonly engines: InferenceEngine[],
    private readonly cache: ByteCache,
    private readonly data: DataClient,
    private readonly fetchModel: (sha256: string) => Promise<Uint8Array>,
    /** The size of a model's file, without its bytes (for bandwidth budgets). */
    private readonly fetchSize: (sha256: string) => Promise<number> = async () => 0,
  ) {}

  /** The shard's kept outputs, as one `output` frame with the provider that ran it. */
  async run(a: InferAssignment): Promise<ComputedShard> {
    const { values, provider } = await this.outputs(a);
    const frame = () => encodeTensor({ kind: 'output', job: a.jobId, round: 0, shard: a.shard }, values, a.dtype);
    return { samples: a.data.count, loss: 0, paramsVersion: 0, provider, frame };
  }

  /** The data and model not cached yet, the outputs up, their messages. */
  async cost(a: InferAssignment): Promise<number> {
    return (await this.data.missingFor(a.data)) + (await this.missingBytes(a.model.sha256)) + 32 + 4 * a.data.count * a.outputWidth + 1024;
  }

  /** The shard's kept outputs (post-processed), and the engine that computed them. */
  private async outputs(a: InferAssignment): Promise<{ values: Float32Array; provider: string }> {
    const post = parsePostprocess(a.postprocess);
    if (!post) throw new Error(`unknown post-processing ${a.postprocess}`);
    const d = a.data;
    const { x } = await this.data.batch({ ...d, ordered: true });
    const { session, engine } = await this.session(a, x);
    const raw = await runBatched(session, a, x, d.count);
    return { values: postprocess(raw, d.count, a.outputWidth, post), provider: engine };
  }

  private session(a: InferAssignment, x: Float32Array) {
    if (this.current?.sha256 !== a.model.sha256) {
      void this.current?.open.then(({ session }) => session.release()).catch(() => {});
      const open = this.model(a.model.sha256).then((bytes) => this.fastest(bytes, a, x));
      open.catch(() => (this.current = undefined));
      this.current = { sha256: a.model.sha256, open };
    }
    return this.current.open;
  }

  /** Bytes that running `sha256` would download: its file, unless it is open or cached. */
  async missingBytes(sha256: string): Promise<number> {
    if (this.current?.sha256 === sha256 || (await this.cache.get(`model:${sha256}`))) return 0;
    return this.fetchSize(sha256);
  }

  private async model(sha256: string): Promise<Uint8Array> {
    const cached = await this.cache.get(`model:${sha256}`);
    if (cached && (await sha256Hex(cached)) === sha256) return cached;
    const bytes = await this.fetchModel(sha256);
    this.bytesFetched += bytes.byteLength;
    const got = await sha256Hex(bytes);
    if (got !== sha256) throw new Error(`model ${sha256} arrived with hash ${got}`);
    await this.cache.put(`model:${sha256}`, bytes);
    return bytes;
  }

  /** Open the model on each engine, time a few samples of the shard on each, keep the fastest that ran. */
  private async fastest(bytes: Uint8Array, a: InferAssignment, x: Float32Array) {
    const per = x.length / a.data.count;
    const n = Math.min(a.data.count, Math.max(1, a.inputShape[0]), PROBE_SAMPLES);
    const probe = x.subarray(0, n * per);
    let best: { session: ModelSession; engine: string; ms: number } | undefined;
    let lastError: unknown;
    for (const engine of this.engines) {
      try {
        const session = await engine.open(bytes);
        await runBatched(session, a, probe, n); // warm-up: kernels compile, buffers are allocated
        const t0 = performance.now();
        await runBatched(session, a, probe, n);
        const ms = performance.now() - t0;
        if (!best || ms < best.ms) {
          best?.session.release();
          best = { session, engine: engine.name, ms };
        } else session.release();
      } catch (e) {
        lastError = e; // this engine cannot run the model: another may
      }
    }
    if (!best) throw new Error(`no engine could run model ${a.model.sha256}: ${String((lastError as Error)?.message ?? lastError)}`);
    return best;
  }
}
