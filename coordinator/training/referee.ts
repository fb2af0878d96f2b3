import { innerAdamW } from '../../kernels/inner-state';
import type { Batch } from '../../kernels/models/model';
import { stepBatches } from '../../kernels/models/step-batches';
import { type SampleRef, shardBatch } from '../../protocol/dataset';
import { stepsPerShard, type TrainingSpec } from '../../protocol/job';
import type { ModelSpec } from '../../protocol/model';
import type { DatasetRegistry } from '../data/dataset-registry';
import { OnnxThread } from '../models/onnx-thread';
import { l2Norm } from './aggregate';
import type { Reference } from './trust';

/** A round's reference with the held-out samples its step is checked on. */
export type RoundReference = Reference & { heldOut: Batch };

/**
 * Samples the held-out loss is taken on: it catches a step that blows the model up (trust.ts), which needs no more. It
 * ran on a close's path (about 3.6 ms of the MLP's, on a core shared with the evaluations; now off it, trusted-step.ts);
 * 32 samples halved that, but their noise failed honest reference steps in a local-step job and cleared its momentum (a
 * fault-matrix row 1.02 points under its clean run, once in three runs).
 */
const HELD_OUT_SAMPLES = 128;

/** The root sample's own stream: the job's data, in an order no worker is handed. */
const ROOT_SEED_MIX = 0x726f6f74;

/**
 * The coordinator's own computations for the root of trust, on onnxruntime-node in a thread of their own (a test-set
 * evaluation must not hold a round's reference up): the reference gradient over `reference` samples of the training
 * split, held-out losses over as many others, and recomputations of shards a worker returned.
 */
export class Referee {
  private readonly pool = new OnnxThread();
  /** Each job's held-out samples, by its spec (parsed once per run). */
  private readonly heldOuts = new WeakMap<TrainingSpec, Batch>();

  constructor(private readonly datasets: Pick<DatasetRegistry, 'get'>) {}

  /** The samples of the job's training split that `ref` names, as a worker would have them. */
  private batch(spec: TrainingSpec, ref: SampleRef): Batch {
    const data = this.datasets.get(spec.dataset.name, spec.dataset.split);
    return shardBatch(data.manifest, (c) => data.chunks[c], ref);
  }

  private gradient(model: ModelSpec, params: Float32Array, batch: Batch): Promise<Float32Array> {
    return this.pool.run({ spec: model, params, batch }, 'gradient');
  }

  /**
   * The reference of `round`, computed at `params` (copied: the caller's move on at the round's close): a gradient
   * over `reference` samples, or in a local-step job the delta of its `local.steps` steps over `reference` samples each;
   * and the loss before the step on the job's HELD_OUT_SAMPLES, unless the caller has it (`heldOutLoss`: the last
   * step's check took it at these parameters).
   */
  async reference(spec: TrainingSpec, params: Float32Array, round: number, heldOutLoss?: Promise<number>): Promise<RoundReference> {
    const size = spec.aggregation.reference;
    const rootSize = size * stepsPerShard(spec);
    const seed = (spec.seed ^ ROOT_SEED_MIX) >>> 0;
    const cursor = round * (rootSize + HELD_OUT_SAMPLES);
    // Augmented as the workers' samples are; the held-out loss is taken on the samples as they are.
    const root = this.batch(spec, { seed, cursor, count: rootSize, augment: spec.dataset.augment });
    // The same samples every round (round 0's, which no later round's root sample takes): one round's loss after its
    // step is the next one's before, taken once; gathered once per job.
    let heldOut = this.heldOuts.get(spec);
    if (!heldOut) {
      heldOut = this.batch(spec, { seed, cursor: rootSize, count: HELD_OUT_SAMPLES });
      this.heldOuts.set(spec, heldOut);
    }
    const at = params.slice();
    const [grads, before] = await Promise.all([this.update(spec, at, root, round), heldOutLoss ?? this.heldOutLoss(spec.model, at, heldOut)]);
    return { grads, norm: l2Norm(grads), samples: rootSize, heldOutLoss: before, heldOut };
  }

  /** What an honest worker returns for `batch`: its gradient, or its local steps' delta from a fresh inner optimizer. */
  private update(spec: TrainingSpec, params: Float32Array, batch: Batch, round: number): Promise<Float32Array> {
    if (spec.mode !== 'local') return this.gradient(spec.model, params, batch);
    const seed = (spec.seed ^ ROOT_SEED_MIX ^ round) >>> 0;
    const batches = stepBatches(batch, spec.aggregation.reference, batch.x.length / batch.y.length, (s) => seed + s);
    return this.pool.run({ spec: spec.model, params, batches, h: innerAdamW(spec.local.lr) }, 'localDelta');
  }

  /** The gradient a worker should have returned for the shard of `count` samples at `cursor` of the job's stream. */
  recompute(spec: TrainingSpec, params: Float32Array, shard: { cursor: number; count: number }): Promise<Float32Array> {
    return this.gradient(spec.model, params, this.batch(spec, { seed: spec.seed, cursor: shard.cursor, count: shard.count, augment: spec.dataset.augment }));
  }

  /** The loss over the reference's held-out samples at `params`. */
  heldOutLoss(model: ModelSpec, params: Float32Array, heldOut: Batch): Promise<number> {
    return this.pool.run({ spec: model, params, heldOut }, 'heldOutLoss');
  }

  close() {
    return this.pool.close();
  }
}
