import { GridError } from '../../protocol/errors';
import type { InferenceSpec, JobSpec } from '../../protocol/job';
import type { JobKind } from '../jobs/kind';
import { roundComplete } from '../jobs/round';
import type { TrustLedger } from '../jobs/trust-ledger';
import { type InferenceState, inferAssignment, loadInference } from './load';
import { checkOutput, correctIn } from './outputs';
import { planInference } from './plan';
import { completeInference, inferenceProgress, recordOutput } from './record';
import { InferenceReferee } from './referee';

const inferenceSpec = (spec: JobSpec): InferenceSpec => {
  if (spec.mode !== 'inference') throw new GridError('BAD_JOB_SPEC', 'this job trains a model; it is not an inference job');
  return spec;
};

/**
 * Inference on a registered ONNX model: the whole job is one round of shards in input order; outputs are checked,
 * compared with redundant copies, and written with their result. When all are in, the coordinator recomputes a
 * sample of them weighted by each worker's standing in `ledger`, and every shard whose copies disagreed
 * (referee.ts); the job is done when nothing it checked was wrong.
 */
export function inferenceKind(ledger: TrustLedger): JobKind<InferenceState> {
  const referee = new InferenceReferee(ledger);
  return {
    async check(spec, { store, datasets, allowlist }) {
      const s = inferenceSpec(spec);
      const plan = await planInference(s, store, datasets, allowlist);
      return { rounds: Math.ceil(plan.samples / s.shardSize) };
    },
    // The allow-list is checked again wherever the job loads.
    load: (job, spec, ctx) => loadInference(job, inferenceSpec(spec), ctx),
    finished: (run) => roundComplete(run.round),
    progress: (run) => inferenceProgress(run).shards,
    /** A forward pass: about 2 FLOPs per weight, the model's size standing in for its parameter count (4 bytes each). */
    flopsPerSample: (run) => (2 * run.data.plan.modelBytes) / 4,
    assignment: (run, shard, assignmentId) => inferAssignment(run.id, run.data.spec, run.data.plan, shard, assignmentId),
    /** The outputs up (the model is fetched once per worker, not per shard). */
    shardBytes: (run) => (run.round.shards[0]?.count ?? 0) * run.data.plan.kept * (run.data.spec.outputDtype === 'f16' ? 2 : 4),
    /** Inference has no votes to cap: any worker may take any shard. */
    shareCap: () => 1,
    /** Class outputs must agree exactly; raw outputs within the job's tolerance. */
    tolerance: (run) => (run.data.plan.post.kind !== 'raw' ? 0 : run.spec.redundancy.tolerance),
    refereed: true,

    accept(run, shard, meta, frame, leased) {
      const values = checkOutput(run.data.spec, run.data.plan, shard, meta, frame);
      // Accuracy is counted here from the outputs and the labels, never taken from the worker.
      const correct = correctIn(run.data.plan, shard, values);
      const output = { assignmentId: meta.assignmentId, workerId: leased.workerId, provider: meta.provider ?? 'unreported', frame };
      return { values, norm: 0, correct, write: (tx) => recordOutput(tx, run, shard, output) };
    },

    async closeRound(run, ctx) {
      const caught = await referee.check(run, ctx);
      if (caught.size) {
        await ctx.reopen(caught, 'MISMATCH');
        return 'reopened';
      }
      await completeInference(ctx, run, ctx.fence);
      return 'finished';
    },

    /** Which engines and providers computed the job's standing shards. */
    async status(job, store) {
      return { providers: await store.providerMix(job.id) };
    },

    shutdown: () => referee.close(),
  };
}
