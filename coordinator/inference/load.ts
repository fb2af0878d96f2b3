import { decodeTensor, type Frame } from '../../protocol/frames';
import type { InferenceSpec } from '../../protocol/job';
import type { InferAssignment } from '../../protocol/messages';
import type { KindContext } from '../jobs/kind';
import type { Round, Shard } from '../jobs/round';
import type { Job } from '../store/index';
import { correctIn } from './outputs';
import { type InferencePlan, planInference, planShards } from './plan';

/** An inference job's own live state: its spec, parsed once, and its plan as checked against model and data. */
export interface InferenceState {
  spec: InferenceSpec;
  plan: InferencePlan;
}

/**
 * An inference job's live state: the whole job is one round of shards in input order, leased, checked and
 * verified like a training round; what a previous owner already has on record stands and is not computed again.
 */
export async function loadInference(
  job: Job,
  spec: InferenceSpec,
  { store, datasets, allowlist }: KindContext,
): Promise<{ round: Round; version: number; data: InferenceState }> {
  const plan = await planInference(spec, store, datasets, allowlist);
  const round = planShards(plan.samples, spec.shardSize, spec.redundancy.fraction);
  for (const row of await store.outputs(job.id)) {
    const s = round.shards[row.shard];
    if (!s || s.copyOf !== undefined || s.result) continue;
    const values = decodeTensor({ dtype: row.dtype, count: row.count, payload: row.data } as Frame);
    s.result = { workerId: row.worker_id, tokenId: null, assignmentId: row.assignment_id, values, rounding: 0, norm: 0, samples: s.count, loss: 0, correct: 0 };
    s.result.correct = correctIn(plan, s, values);
  }
  return { round, version: 0, data: { spec, plan } };
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
