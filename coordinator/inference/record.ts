import type { Frame } from '../../protocol/frames';
import type { Run } from '../jobs/kind';
import { primaries, type Shard } from '../jobs/round';
import type { Logger } from '../log';
import type { Fence, Store } from '../store/index';
import type { InferenceState } from './load';

/** Shards done, samples done and correct so far (accuracy counts only with labels). */
export function inferenceProgress(run: Run<InferenceState>) {
  const done = primaries(run.round).filter((s) => s.result);
  const samples = done.reduce((n, s) => n + s.count, 0);
  const correct = done.reduce((n, s) => n + (s.result?.correct ?? 0), 0);
  return { shards: done.length, samples, accuracy: run.data.plan.labels && samples ? correct / samples : undefined };
}

/**
 * Inside an accepted result's transaction: the shard's outputs (filed under the shard they compute, a check's too),
 * the job's progress, and its accuracy so far when the data set has labels.
 */
export async function recordOutput(
  tx: Store,
  run: Run<InferenceState>,
  shard: Shard,
  out: { assignmentId: number; workerId: string; provider: string; frame: Frame },
) {
  await tx.putOutput({
    assignment_id: out.assignmentId,
    job_id: run.id,
    shard: shard.copyOf ?? shard.index,
    worker_id: out.workerId,
    provider: out.provider.slice(0, 200),
    dtype: out.frame.dtype,
    count: out.frame.count,
    data: out.frame.payload,
  });
  const p = inferenceProgress(run);
  await tx.setJobProgress(run.id, p.shards, 0);
  await tx.addMetrics(run.id, p.shards, { samples: p.samples, ...(p.accuracy === undefined ? {} : { accuracy: p.accuracy }) });
}

/** Every shard of an inference job is in: once its outputs are all on record, its last progress (then it is done). */
export async function completeInference(o: { store: Store; log: Logger }, run: Run<InferenceState>, fence: Fence) {
  if ((await Promise.all(run.round.writes)).includes(false)) throw new Error('an output of this job could not be recorded');
  const p = inferenceProgress(run);
  o.log.info('inference complete', { job: run.id, shards: p.shards, samples: p.samples, accuracy: p.accuracy });
  await o.store.fenced(fence, (tx) => tx.setJobProgress(run.id, p.shards, 0));
}
