import type { TrainingSpec } from '../../protocol/job';
import type { DatasetRegistry } from '../data/dataset-registry';
import type { Shard } from '../jobs/round';
import type { StandingStore, TrustLedger } from '../jobs/trust-ledger';
import type { CloseStage } from '../metrics';
import type { AggregationPool } from './aggregate-pool';
import type { TrainingRun } from './job-run';
import { Referee, type RoundReference } from './referee';
import { SpotChecks } from './spot-check';

/** What judges a round: the coordinator's own computations, its record of each worker, who is the operator's own. */
export interface Judge {
  referee: Referee;
  ledger: TrustLedger;
  /** The spot checks drawn as the round's results arrived. */
  checks: SpotChecks;
  trusted: (workerId: string) => boolean;
  /** Sums the weighted results across threads. */
  pool: AggregationPool;
  /** Where each worker's verified results are kept. */
  store: StandingStore;
  /** Times a part of the judging (the round close's metrics). */
  part?: <T>(stage: CloseStage, f: () => T | Promise<T>) => Promise<T>;
}

/** Whether a job's rounds are judged against the coordinator's own reference (gradients, or local-step deltas). */
export const judgedByReference = (spec: TrainingSpec) => spec.aggregation.reference > 0;

/**
 * The coordinator's root of trust across its jobs: what it has seen of each worker (trust-ledger.ts) and each
 * run's reference for its open round, computed in the background from the moment the round opens, so a round's
 * close waits for it only when its workers were faster than one gradient over the root sample.
 */
export class RootOfTrust {
  /** `ledger` is the coordinator's one record of its workers, shared with its other kinds of job. */
  constructor(readonly ledger: TrustLedger) {}

  readonly checks = new SpotChecks();

  /** Made with the first round's data sets (one registry per coordinator). */
  private made?: Referee;
  private readonly pending = new WeakMap<TrainingRun, { round: number; version: number; result: Promise<RoundReference> }>();

  referee(datasets: DatasetRegistry): Referee {
    this.made ??= new Referee(datasets);
    return this.made;
  }

  /**
   * A synchronous judged job's result from a worker that is not the operator's own has arrived: draw its spot check
   * now, so its recomputation runs while the round's other shards are computed (before the first round's close
   * makes the referee, the close draws instead).
   */
  arrived(run: TrainingRun, shard: Shard, result: { workerId: string; values: Float32Array }) {
    if (this.made && judgedByReference(run.data.spec) && run.data.spec.mode === 'sync' && shard.copyOf === undefined)
      this.checks.draw(run, shard, result, this.made, this.ledger);
  }

  /** Start the reference of the run's open round; `heldOutLoss`, when the caller has it at the current parameters. */
  begin(run: TrainingRun, datasets: DatasetRegistry, heldOutLoss?: Promise<number>) {
    if (!judgedByReference(run.data.spec)) return;
    const result = this.referee(datasets).reference(run.data.spec, run.data.params, run.round.index, heldOutLoss);
    result.catch(() => {}); // awaited at the round's close, which reports the failure
    this.pending.set(run, { round: run.round.index, version: run.version, result });
  }

  /** The reference of the run's open round, started now if it was not. */
  referenceFor(run: TrainingRun, datasets: DatasetRegistry): Promise<RoundReference> {
    const p = this.pending.get(run);
    if (p?.round !== run.round.index || p.version !== run.version) this.begin(run, datasets);
    return (this.pending.get(run) as { result: Promise<RoundReference> }).result;
  }

  async close() {
    await this.made?.close();
  }
}
