import { type JobSpec, parseJobSpec } from '../../protocol/job';
import type { Job } from '../store/index';
import type { KindContext, KindTable, Run } from './kind';

/** The job's data sets, loaded here when another coordinator on the database took their upload. */
async function dataOf(spec: JobSpec, { datasets }: KindContext) {
  const { name, split } = spec.dataset;
  await datasets.ensure(name, split);
  if ('evalSplit' in spec.dataset && spec.dataset.evalSplit) await datasets.ensure(name, spec.dataset.evalSplit);
}

/**
 * Parse a submitted spec and check it with its kind; every mismatch is a BAD_JOB_SPEC naming it. `rounds` is what
 * the job's progress counts to: rounds of training, or shards of inference.
 */
export async function checkSubmission(input: unknown, kinds: KindTable, ctx: KindContext): Promise<{ spec: JobSpec; rounds: number }> {
  const parsed = parseJobSpec(input);
  await dataOf(parsed, ctx);
  const { rounds, spec } = await kinds(parsed.mode).check(parsed, ctx);
  return { spec: spec ?? parsed, rounds };
}

/** Rebuild a job's live state from its row (its kind does the rest); throws (the job is then failed) if it cannot run. */
export async function loadRun(job: Job, kinds: KindTable, ctx: KindContext): Promise<Run> {
  const spec = parseJobSpec(JSON.parse(job.spec));
  await dataOf(spec, ctx);
  const kind = kinds(spec.mode);
  const { round, version, data } = await kind.load(job, spec, ctx);
  const owner = (await ctx.store.tokenName(job.token_id)) ?? 'the operator';
  return {
    id: job.id,
    spec,
    kind,
    state: job.state === 'paused' ? 'paused' : 'running',
    totalRounds: job.total_rounds,
    round,
    version,
    epoch: job.owner_epoch,
    about: { job: spec.name, owner, ...(spec.description ? { description: spec.description } : {}) },
    data,
  };
}

/** A running job's shards and, when nothing is leased and no connected worker may take them, why it waits. */
export function liveStatus(run: Run, eligibleWorkers: number) {
  const shards = run.round.shards.map((s) => ({ index: s.index, state: s.result ? 'done' : s.lease ? 'leased' : 'pending', worker: s.lease?.workerId }));
  const idle = run.state === 'running' && !shards.some((s) => s.state === 'leased') && eligibleWorkers === 0;
  const waiting = idle ? `no connected worker can run it${run.spec.workers === 'native' ? ' (native workers only)' : ''}` : undefined;
  return { round: run.round.index, version: run.version, shards, ...(waiting ? { waiting } : {}) };
}
