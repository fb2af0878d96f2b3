import { Piscina } from 'piscina';
import type { Batch } from '../../kernels/models/model';
import { gatherBatch } from '../../protocol/dataset';
import type { TrainingSpec } from '../../protocol/job';
import type { ModelSpec } from '../../protocol/model';
import { sampleIndices } from '../../protocol/sampling';
import type { DatasetRegistry } from '../data/dataset-registry';
import type { ReferenceTask } from './eval-thread';
import type { Reference } from './trust';

/** A round's reference with the held-out samples its step is checked on. */
export type RoundReference = Reference & { heldOut: Batch };

/** The root sample's own stream: the job's data, in an order no worker is handed. */
const ROOT_SEED_MIX = 0x726f6f74;

/**
 * The coordinator's own computations for the root of trust, on onnxruntime-node in a thread of their own (a test-set
 * evaluation must not hold a round's reference up): the reference gradient over `reference` samples of the training
 * split, and held-out losses over as many others.
 */
export class Referee {
  private readonly pool = new Piscina({
    filename: new URL('./eval-thread-entry.mjs', import.meta.url).href,
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: 60_000,
  });

  constructor(private readonly datasets: Pick<DatasetRegistry, 'get'>) {}

  /** The reference of `round`, computed at `params` (copied: the caller's may move on). */
  async reference(spec: TrainingSpec, params: Float32Array, round: number): Promise<RoundReference> {
    const size = spec.aggregation.reference;
    const data = this.datasets.get(spec.dataset.name, spec.dataset.split);
    const indices = sampleIndices((spec.seed ^ ROOT_SEED_MIX) >>> 0, data.manifest.samples, round * 2 * size, 2 * size);
    const gather = (from: number) => gatherBatch(data.manifest, (c) => data.chunks[c], indices.subarray(from, from + size));
    const [root, heldOut] = [gather(0), gather(size)];
    const task: ReferenceTask = { spec: spec.model, params: params.slice(), root, heldOut };
    const r: { grads: Float32Array; heldOutLoss: number } = await this.pool.run(task, { name: 'reference' });
    let norm = 0;
    for (const g of r.grads) norm += g * g;
    return { grads: r.grads, norm: Math.sqrt(norm), samples: size, heldOutLoss: r.heldOutLoss, heldOut };
  }

  /** The gradient a worker should have returned for the shard of `count` samples at `cursor` of the job's stream. */
  async recompute(spec: TrainingSpec, params: Float32Array, shard: { cursor: number; count: number }): Promise<Float32Array> {
    const data = this.datasets.get(spec.dataset.name, spec.dataset.split);
    const batch = gatherBatch(data.manifest, (c) => data.chunks[c], sampleIndices(spec.seed, data.manifest.samples, shard.cursor, shard.count));
    return this.pool.run({ spec: spec.model, params: params.slice(), batch }, { name: 'gradient' });
  }

  /** The loss over the reference's held-out samples at `params`. */
  heldOutLoss(model: ModelSpec, params: Float32Array, heldOut: Batch): Promise<number> {
    return this.pool.run({ spec: model, params, heldOut }, { name: 'heldOutLoss' });
  }

  close() {
    return this.pool.destroy();
  }
}
