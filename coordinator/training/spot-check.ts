import { agree } from '../jobs/redundancy';
import { primaries, type ShardResult } from '../jobs/round';
import { checkRate } from '../jobs/trust-ledger';
import { clipByNorm } from './aggregate';
import type { TrainingRun } from './job-run';
import type { Judge } from './root-of-trust';

/**
 * Recompute a sample of the round's results from workers that are not the operator's own, on the parameters they
 * were given, and compare within the job's redundancy tolerance. A disagreement is evidence against that worker
 * alone, whatever everyone else sent (a coalition's mean minus a deviation, noise, a flip, a scaled copy); an
 * agreement earns it standing. The sample is unpredictable, so no worker knows which of its results are checked.
 * Returns the workers caught.
 */
export async function spotCheck(run: TrainingRun, judge: Pick<Judge, 'referee' | 'ledger' | 'trusted' | 'store'>, random = Math.random): Promise<Set<string>> {
  const { ledger, referee } = judge;
  const { spec, published } = run.data;
  const caught = new Set<string>();
  for (const shard of primaries(run.round)) {
    const r = shard.result as ShardResult;
    if (judge.trusted(r.workerId) || ledger.wasChecked(r.assignmentId) || random() >= checkRate(ledger.standing(r.workerId))) continue;
    const honest = await referee.recompute(spec, published, shard);
    if (spec.aggregation.clipNorm) clipByNorm(honest, spec.aggregation.clipNorm);
    const right = agree(r, { values: honest, rounding: 0 }, spec.redundancy.tolerance);
    await ledger.checked(r.assignmentId, r.workerId, right, judge.store);
    if (!right) caught.add(r.workerId);
  }
  return caught;
}
