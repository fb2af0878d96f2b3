import { decodeTensor, type Frame } from '../../protocol/frames';
import type { InferenceSpec } from '../../protocol/job';
import type { InferAssignment } from '../../protocol/messages';
import type { DatasetRegistry } from '../data/dataset-registry';
import type { Job, Store } from '../store/index';
import type { Run } from '../training/job-run';
import { newOptimizerState } from '../training/optimizer';
import { ReplayGuard } from '../training/replay-guard';
import type { Shard } from '../training/round';
import { correctIn } from './outputs';
import { type InferencePlan, planInference, planShards } from './plan';

/**
 * An inference job's live state: the whole job is one round of shards in input order, leased, checked and
 * verified like a training round; what a previous owner already has on record stands and is not computed again.
 */
export async function loadInferenceRun(
  job: Job,
  spec: InferenceSpec,
  store: Store,
  datasets: DatasetRegistry,
  allowlist: ReadonlySet<string> | undefined,
): Promise<Run> {
  const plan = await planInference(spec, store, datasets, allowlist);
  const round = planShards(plan.samples, spec.shardSize, spec.redundancy.fraction);
  for (const o of await store.outputs(job.id)) {
    const s = round.shards[o.shard];
    if (!s || s.copyOf !== undefined || s.result) continue;
    const values = decodeTensor({ dtype: o.dtype, count: o.count, payload: o.data } as Frame);
    s.result = { workerId: o.worker_id, tokenId: null, assignmentId: o.assignment_id, values, rounding: 0, norm: 0, samples: s.count, loss: 0, correct: 0 };
    s.result.correct = correctIn(plan, s, values);
  }
  return {
    id: job.id,
    spec,
    state: job.state === 'paused' ? 'paused' : 'running',
    totalRounds: job.total_rounds,
    params: new Float32Array(0),
    published: new Float32Array(0),
    paramsFrame: new Uint8Array(0),
    opt: newOptimizerState(0),
    version: 0,
    round,
    replays: new ReplayGuard(),
    epoch: job.owner_epoch,
    inference: plan,
  };
}

/** The assignment of one inference shard: the model by hash, how to feed it, and which samples, in order. */
export function inferAssignment(jobId: number, spec: InferenceSpec, plan: InferencePlan, shard: Shard, assignmentId: number): InferAssignment {
  return {
    type: 'infer',
    assignmentId,
    jobId,
    shard: shard.index,
    model: { sha256: spec.model.sha256, input: plan.input, output: plan.output },
    inputShape: plan.inputShape,
    outputWidth: plan.width,
    postprocess: spec.postprocess,
    dtype: spec.outputDtype,
    data: { dataset: spec.dataset.name, split: spec.dataset.split, seed: 0, cursor: shard.cursor, count: shard.count, ordered: true },
  };
}
