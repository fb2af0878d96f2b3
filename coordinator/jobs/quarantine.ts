import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { type Fence, FencedError, type ResultRow, type Store } from '../store/index';
import type { Dispatcher } from './dispatcher';
import type { Run } from './kind';
import { nextReputation, QUARANTINE_BELOW } from './reputation';
import { passOver, type Round, refuseUnrecorded, type Shard } from './round';
import type { Settlement } from './verification';

export interface QuarantineOptions {
  store: Store;
  log: Logger;
  metrics: Metrics;
  dispatcher: Dispatcher;
  runs: Map<number, Run>;
}

/** What happens to workers whose results are bad: their round is reopened without them, and below a reputation they are quarantined. */
export class Quarantine {
  constructor(private readonly o: QuarantineOptions) {}

  /**
   * A refused result: its lease ends, the shard goes to another worker while one can take it, the refusal goes on
   * record against the worker's reputation, and below the threshold the worker is quarantined. False when the job
   * is no longer this coordinator's (nothing was recorded).
   */
  async refuse(shard: Shard, row: ResultRow, fence: Fence): Promise<boolean> {
    const { worker_id: workerId, reason: code } = row;
    await this.o.dispatcher.keeper.expire(row.assignment_id, 'rejected', code ?? 'REFUSED');
    passOver(shard, workerId);
    this.o.metrics.results.inc({ accepted: 'false', code: code ?? 'REFUSED' });
    this.o.metrics.jobRefused(row.job_id, code ?? 'REFUSED');
    let reputation: number;
    try {
      reputation = await this.o.dispatcher.keeper.ledger.recordOutcome(row, (r) => nextReputation(r, 'bad'), fence);
    } catch (e) {
      if (e instanceof FencedError) return false;
      throw e;
    }
    if (reputation < QUARANTINE_BELOW) await this.quarantine(workerId, `reputation ${reputation.toFixed(3)} after refusal ${code}`);
    this.o.dispatcher.dispatchAll();
    return true;
  }

  /**
   * A complete round with outlier (or recomputed and wrong) contributions is not closed: those workers' results are
   * discarded (on record as `code`), their workers lose reputation, and those shards are recomputed by other workers.
   */
  async reopen(run: Run, flagged: Set<string>, code: 'OUTLIER' | 'MISMATCH' = 'OUTLIER') {
    const discarded: number[] = [];
    for (const s of run.round.shards)
      if (s.result && flagged.has(s.result.workerId)) {
        discarded.push(s.result.assignmentId);
        passOver(s, s.result.workerId);
        s.result = undefined;
      }
    run.round.closing = false;
    await this.discard(run.round, discarded, code);
    this.o.metrics.results.inc({ accepted: 'false', code }, discarded.length);
    this.o.metrics.jobRefused(run.id, code, discarded.length);
    const what = code === 'OUTLIER' ? 'outlier contributions' : 'results the coordinator recomputed differently';
    for (const id of flagged) {
      const reputation = await this.o.store.judgeWorker(id, (r) => nextReputation(r, 'bad'), 0);
      this.o.log.warn(`${what} discarded`, { job: run.id, round: run.round.index, worker: id, reputation });
      if (reputation < QUARANTINE_BELOW) await this.quarantine(id, `reputation ${reputation.toFixed(3)} after ${what}`);
    }
    this.o.dispatcher.dispatchAll();
  }

  /**
   * Put redundancy's verdicts on record, once the results' own rows are written: outvoted results are discarded as
   * MISMATCH and their workers lose reputation; results dropped for want of any agreement become UNVERIFIED.
   */
  async judge(run: Run, s: Settlement) {
    if (!s.outvoted.length && !s.dropped.length) return;
    await Promise.all(run.round.writes);
    await this.discard(
      run.round,
      s.dropped.map((r) => r.assignmentId),
      'UNVERIFIED',
    );
    await this.discard(
      run.round,
      s.outvoted.map((r) => r.assignmentId),
      'MISMATCH',
    );
    this.o.metrics.results.inc({ accepted: 'false', code: 'UNVERIFIED' }, s.dropped.length);
    this.o.metrics.results.inc({ accepted: 'false', code: 'MISMATCH' }, s.outvoted.length);
    if (s.dropped.length) this.o.metrics.jobRefused(run.id, 'UNVERIFIED', s.dropped.length);
    if (s.outvoted.length) this.o.metrics.jobRefused(run.id, 'MISMATCH', s.outvoted.length);
    if (s.dropped.length) this.o.log.warn('redundant results all disagree; the shard is computed again', { job: run.id, round: run.round.index });
    for (const { workerId } of s.outvoted) {
      const reputation = await this.o.store.judgeWorker(workerId, (r) => nextReputation(r, 'bad'), 0);
      this.o.log.warn('result outvoted by redundant computations', { job: run.id, round: run.round.index, worker: workerId, reputation });
      if (reputation < QUARANTINE_BELOW) await this.quarantine(workerId, `reputation ${reputation.toFixed(3)} after results outvoted`);
    }
  }

  /** Stop a worker's work and discard its results in every open round; they are recomputed by others. */
  async quarantine(workerId: string, reason: string) {
    if (this.o.dispatcher.workers.isQuarantined(workerId)) return;
    this.o.metrics.quarantines.inc();
    await this.o.dispatcher.shutOut(workerId, reason);
    await this.o.store.setWorkerState(workerId, 'quarantined');
    for (const run of this.o.runs.values()) {
      if (run.round.closing) continue; // already being combined: it stands
      const discarded: number[] = [];
      for (const s of run.round.shards)
        if (s.result?.workerId === workerId) {
          discarded.push(s.result.assignmentId);
          s.result = undefined;
        }
      await this.discard(run.round, discarded, 'QUARANTINED');
    }
    this.o.dispatcher.dispatchAll();
  }

  /** Results of `round` that will not count: on record as refused now, or when the round's close writes them. */
  private async discard(round: Round, assignmentIds: number[], reason: string) {
    await this.o.store.discardResults(refuseUnrecorded(round, assignmentIds, reason), reason);
  }
}
