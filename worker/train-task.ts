import type { Engine } from '../kernels/engine';
import { type InnerState, innerAdamW, newInnerState } from '../kernels/inner-state';
import type { Batch } from '../kernels/models/model';
import { stepBatches } from '../kernels/models/step-batches';
import { decodeFrame, dtypeOf, encodeTensor, frameBytes } from '../protocol/frames';
import { wireRange } from '../protocol/lora';
import type { Assignment } from '../protocol/messages';
import { parameterCount } from '../protocol/model';
import { readParams } from '../protocol/params-delta';
import type { DataClient } from './data';
import { EngineChooser, type EngineRate } from './engine-choice';
import type { ByteCache } from './host';
import { PerJob } from './per-job';
import { Readahead } from './readahead';
import type { ComputedShard, ShardRunner } from './shard-runner';

/** Shards whose inputs are gathered ahead at most: a revoked one's are dropped past this. */
const MAX_PREPARED = 8;
/** Saved inner state older than this many rounds is not resumed: a returning worker starts cleanly. */
const STALE_ROUNDS = 10;

/** A batch's dropout seed from its shard's sample seed and position: every worker computing the shard draws alike. */
const batchSeed = (seed: number, cursor: number) => (Math.imul(seed >>> 0, 0x9e3779b1) + cursor) >>> 0;

/**
 * Training shards: parameters by version (one download per round), the model on the fastest engine, error feedback
 * per job for compressed results, and the local-step (DiLoCo) inner AdamW state per job, kept across rounds and in
 * the host's cache (IndexedDB in the browser) so a reload resumes it.
 */
export class TrainingRunner implements ShardRunner<Assignment> {
  /** Parameters are fetched through the data client, which counts them. */
  readonly bytesFetched = 0;
  private readonly engines: EngineChooser;
  /** Error feedback per job: what compression dropped from the last result, added to the next one. */
  private readonly residuals = new PerJob<Float32Array>();
  private readonly inner = new PerJob<InnerState>();
  /** The parameters last fetched or pushed: a delta from them is all the next version costs. */
  private held?: { job: number; version: number; values: Float32Array };
  /** The engine ranking last announced, so each model's choice is reported once. */
  private announced?: EngineRate[];

  constructor(
    engines: Engine[],
    private readonly cache: ByteCache,
    private readonly data: DataClient,
    private readonly onEngine: (job: number, rates: EngineRate[]) => void,
    measureMs?: number,
  ) {
    this.engines = new EngineChooser(engines, cache, measureMs);
  }

  /** Bytes the assignment's parameters cost to download at most: none if held, a delta from the version before. */
  paramsBytes(a: Assignment, n: number): number {
    if (this.held?.job === a.jobId && this.held.version === a.paramsVersion) return 0;
    return frameBytes(this.heldBefore(a.jobId, a.paramsVersion) ? 'int8' : 'fp32', n);
  }

  /** The data not cached yet, the parameters not held, the result up, its messages. */
  async cost(a: Assignment): Promise<number> {
    const n = parameterCount(a.model);
    return (await this.data.missingFor(a.data)) + this.paramsBytes(a, n) + frameBytes(a.task.encoding, wireRange(a.model, n).count) + 1024;
  }

  /** The held parameters when they are the version before `version` of `job`: what a delta applies to. */
  private heldBefore(job: number, version: number) {
    return this.held?.job === job && this.held.version === version - 1 ? this.held.values : undefined;
  }

  /**
   * Parameters the coordinator pushed ahead of the assignment that needs them (a full copy, or a delta from the copy
   * held); the assignment then finds them held. One that does not check out is dropped: the assignment fetches.
   */
  offer(bytes: Uint8Array): boolean {
    const head = decodeFrame(bytes);
    if (head.kind !== 'params' && head.kind !== 'params-delta') return false;
    const version = head.round;
    const prior = this.heldBefore(head.job, version);
    if (head.kind === 'params-delta' && !prior) return true; // nothing to apply it to: the assignment fetches a full copy
    this.held = { job: head.job, version, values: readParams(bytes, prior) };
    return true;
  }

  /** The assignment's parameters: held, or a delta from the version before (when the job sends them), or a full copy. */
  private async params(a: Assignment): Promise<Float32Array> {
    if (this.held?.job === a.jobId && this.held.version === a.paramsVersion) return this.held.values;
    const prior = this.heldBefore(a.jobId, a.paramsVersion);
    let values: Float32Array;
    try {
      values = readParams(await this.data.params(prior ? `${a.paramsUrl}&from=${a.paramsVersion - 1}` : a.paramsUrl), prior);
    } catch (e) {
      if (!prior) throw e;
      values = readParams(await this.data.params(a.paramsUrl)); // a delta that did not check out: take a full copy
    }
    this.held = { job: a.jobId, version: a.paramsVersion, values };
    return values;
  }

  /** The next shard's samples gathered while a result is sent, when one worker reads the job's stream in order. */
  private readonly readahead = new Readahead((ref: Assignment['data']) => this.data.batch(ref));

  /** Inputs being gathered ahead of their shard's turn, by assignment; a few at most (the worker's slots). */
  private readonly prepared = new Map<number, Promise<{ params: Float32Array; batch: Batch }>>();

  prepare(a: Assignment) {
    if (this.prepared.has(a.assignmentId)) return;
    const inputs = this.inputs(a);
    inputs.catch(() => {}); // a failure is reported when the shard runs
    this.prepared.set(a.assignmentId, inputs);
    for (const id of this.prepared.keys()) if (this.prepared.size > MAX_PREPARED) this.prepared.delete(id); // revoked ones
  }

  private async inputs(a: Assignment) {
    const params = await this.params(a);
    const d = a.data;
    return { params, batch: { ...(await this.readahead.take(d)), seed: batchSeed(d.seed, d.cursor) } };
  }

  async run(a: Assignment): Promise<ComputedShard> {
    const pending = this.prepared.get(a.assignmentId) ?? this.inputs(a);
    this.prepared.delete(a.assignmentId);
    const { params, batch } = await pending;
    const d = a.data;
    const { model, rates } = await this.engines.model(a.model);
    if (this.announced !== rates) this.onEngine(a.jobId, rates);
    this.announced = rates;
    let values: Float32Array;
    let r: { loss: number; correct: number };
    let innerStep: number | undefined;
    if (a.task.mode === 'local') {
      const batches = stepBatches(batch, a.task.batch, model.inputSize, (s) => batchSeed(d.seed, d.cursor + s));
      const state = await this.innerState(a.jobId, a.round, model.paramCount);
      const out = await model.localSteps(params, batches, innerAdamW(a.task.lr), state);
      await this.cache.put(`inner:${a.jobId}`, packInner(state, a.round));
      innerStep = state.step;
      r = out;
      values = out.delta;
    } else {
      const out = await model.lossAndGradients(params, batch);
      r = out;
      values = out.grads; // a fresh readback per call: safe to adjust in place for error feedback
    }
    const wire = wireRange(a.model, values.length); // a LoRA job's results carry its adapters only
    const sent = values.subarray(wire.start, wire.start + wire.count);
    const frame = () => this.encode(a, sent);
    return { samples: d.count, loss: r.loss, correct: r.correct, paramsVersion: a.paramsVersion, innerStep, frame };
  }

  sent(a: Assignment) {
    this.readahead.done(a.data);
  }

  /** The job's inner state: in memory, else as saved (unless stale or for another model size), else fresh. */
  private async innerState(jobId: number, round: number, n: number): Promise<InnerState> {
    const held = this.inner.peek(jobId, (s) => s.m.length === n);
    if (held) return held;
    const saved = unpackInner(await this.cache.get(`inner:${jobId}`));
    const resumable = saved && saved.m.length === n && round >= saved.round && round - saved.round <= STALE_ROUNDS;
    return this.inner.set(jobId, resumable ? saved : newInnerState(n));
  }

  /** The result frame, with error feedback carried to the next result when the encoding is lossy. */
  private encode(a: Assignment, values: Float32Array): Uint8Array {
    const dtype = dtypeOf(a.task.encoding);
    let residual: Float32Array | undefined;
    if (dtype !== 'f32') {
      residual = this.residuals.get(
        a.jobId,
        (r) => r.length === values.length,
        () => new Float32Array(values.length),
      );
      for (let i = 0; i < values.length; i++) values[i] += residual[i];
    }
    return encodeTensor({ kind: a.task.mode === 'local' ? 'delta' : 'gradient', job: a.jobId, round: a.round, shard: a.shard }, values, dtype, residual);
  }
}

/** Inner state as bytes: u32 step, u32 round, then m and v. */
function packInner(s: InnerState, round: number): Uint8Array {
  const out = new Uint8Array(8 + 8 * s.m.length);
  const head = new DataView(out.buffer);
  head.setUint32(0, s.step, true);
  head.setUint32(4, round, true);
  new Float32Array(out.buffer, 8, s.m.length).set(s.m);
  new Float32Array(out.buffer, 8 + 4 * s.m.length, s.v.length).set(s.v);
  return out;
}

function unpackInner(bytes: Uint8Array | undefined): (InnerState & { round: number }) | undefined {
  if (!bytes || bytes.byteLength < 8 || (bytes.byteLength - 8) % 8 !== 0) return undefined;
  const copy = bytes.slice(); // aligned, and not shared with the cache
  const head = new DataView(copy.buffer);
  const n = (copy.byteLength - 8) / 8;
  return {
    step: head.getUint32(0, true),
    round: head.getUint32(4, true),
    m: new Float32Array(copy.buffer, 8, n),
    v: new Float32Array(copy.buffer, 8 + 4 * n, n),
  };
}
