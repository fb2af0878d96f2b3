import { agree } from '../jobs/redundancy';
import { primaries, type Shard, type ShardResult } from '../jobs/round';
import type { StandingStore, TrustLedger } from '../jobs/trust-ledger';
import { clipByNorm } from './aggregate';
import type { TrainingRun } from './job-run';
import type { Referee } from './referee';

/** A result's draw: its recomputation under way, or null when it was not drawn for a check. */
type Draw = Promise<Float32Array> | null;

/**
 * Spot checks drawn as results arrive, so the coordinator recomputes a result while its worker computes the next
 * shard instead of one after another at the round's close. Keyed by the result's values: a draw lives as long as
 * its result, and a result that never closes (a cancelled job, a reopened round) takes its draw with it.
 */
export class SpotChecks {
  private readonly draws = new WeakMap<Float32Array, Draw>();

  constructor(private readonly random = Math.random) {}

  /** Draw whether a non-operator worker's result is checked (by its standing now) and start its recomputation if so. */
  draw(run: TrainingRun, shard: Pick<Shard, 'cursor' | 'count'>, result: Pick<ShardResult, 'workerId' | 'values'>, referee: Referee, ledger: TrustLedger) {
    this.draws.set(result.values, this.drawn(run, shard, result.workerId, referee, ledger));
  }

  private drawn(run: TrainingRun, shard: Pick<Shard, 'cursor' | 'count'>, workerId: string, referee: Referee, ledger: TrustLedger): Draw {
    if (this.random() >= ledger.checkRate(workerId)) return null;
    // A copy of the parameters the result was computed on: the task may start after the close has moved them.
    const check = referee.recompute(run.data.spec, run.data.published.slice(), shard);
    check.catch(() => {}); // awaited at the close, which reports the failure
    return check;
  }

  /**
   * Compare the round's drawn results from workers that are not the operator's own with the coordinator's
   * recomputation (drawing now for any result that arrived without a draw), within the job's redundancy tolerance.
   * A disagreement is evidence against that worker alone, whatever everyone else sent (a coalition's mean minus a
   * deviation, noise, a flip, a scaled copy); an agreement earns it standing. The draw is unpredictable, so no worker
   * knows which of its results are checked. Returns the workers caught.
   */
  async collect(
    run: TrainingRun,
    judge: { referee: Referee; ledger: TrustLedger; trusted: (workerId: string) => boolean; store?: StandingStore },
  ): Promise<Set<string>> {
    const { ledger, referee } = judge;
    const { spec } = run.data;
    const caught = new Set<string>();
    for (const shard of primaries(run.round)) {
      const r = shard.result as ShardResult;
      if (judge.trusted(r.workerId) || ledger.wasChecked(r.assignmentId)) continue;
      if (!this.draws.has(r.values)) this.draw(run, shard, r, referee, ledger);
      const check = this.draws.get(r.values);
      this.draws.delete(r.values);
      if (!check) continue;
      const honest = await check;
      if (spec.aggregation.clipNorm) clipByNorm(honest, spec.aggregation.clipNorm);
      const right = agree(r, { values: honest, rounding: 0 }, spec.redundancy.tolerance);
      await ledger.checked(r.assignmentId, r.workerId, right, judge.store);
      if (!right) caught.add(r.workerId);
    }
    return caught;
  }
}
