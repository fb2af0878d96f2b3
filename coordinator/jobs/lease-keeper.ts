import { errorText, type Logger } from '../log';
import type { Metrics } from '../metrics';
import type { Store } from '../store/index';
import { AssignmentLedger } from './assignment-ledger';
import type { Run } from './kind';
import { type Lease, LeaseTable } from './leases';
import { passOver, type Shard, type ShardLease } from './round';
import type { ConnectedWorker, WorkerRegistry } from './workers';

export interface LeaseKeeperOptions {
  store: Store;
  log: Logger;
  metrics: Metrics;
  /** The scheduler's live jobs. */
  runs: Map<number, Run>;
  workers: WorkerRegistry;
  now: () => number;
  stopped: () => boolean;
}

/**
 * The leases of connected workers: each with an id and a row (written behind it), and every lease that will not complete
 * (disconnect, release, deadline, refusal, a backup that lost) ended so its shard goes back to the pool.
 */
export class LeaseKeeper {
  readonly leases = new LeaseTable();
  /** The leases' rows, written behind them. */
  readonly ledger: AssignmentLedger;

  constructor(private readonly o: LeaseKeeperOptions) {
    this.ledger = new AssignmentLedger(o.store, o.now);
  }

  /**
   * Reserve `shard` for `w` at once and send the assignment; its row is written behind it (assignment-ledger.ts), so
   * a lease waits on the store only when this coordinator has no reserved id left.
   */
  async lease(run: Run, shard: Shard, w: ConnectedWorker, slot: 'lease' | 'backup' = 'lease') {
    const lease: ShardLease = { workerId: w.link.id, tokenId: w.link.tokenId, network: w.link.network };
    const round = run.round;
    shard[slot] = lease;
    w.holds.add(shard);
    const { leaseMs } = run.spec;
    const row = { jobId: run.id, round: round.index, shard: shard.index, workerId: w.link.id, leaseMs };
    const id =
      this.ledger.open(row) ??
      (await this.ledger.reserve().then(
        () => this.ledger.open(row),
        (e) => void this.o.log.error('no lease id could be reserved; the shard stays free', { job: run.id, err: errorText(e) }),
      ));
    const current =
      shard[slot] === lease && !shard.result && this.o.workers.current(w) && this.o.runs.get(run.id) === run && run.round === round && run.state === 'running';
    if (id === undefined || !current) {
      if (shard[slot] === lease) shard[slot] = undefined;
      w.holds.delete(shard);
      if (id !== undefined) await this.ledger.finish(id, 'expired');
      return;
    }
    lease.assignmentId = id;
    const now = this.o.now();
    this.leases.add({
      assignmentId: id,
      jobId: run.id,
      round: round.index,
      shard: shard.index,
      workerId: w.link.id,
      paramsVersion: run.version,
      since: now,
      until: now + leaseMs,
      live: true,
    });
    const progress = { done: run.kind.progress?.(run) ?? run.round.index, total: run.totalRounds };
    const about = run.about ? { about: { ...run.about, progress } } : {};
    this.pushParams(run, w, id);
    w.link.send({ ...run.kind.assignment(run, shard, id), ...about });
    this.o.metrics.shardsAssigned.inc();
  }

  /**
   * Send the parameters the assignment needs over the socket just before it, unless this connection has them: the
   * worker then starts at once instead of fetching them (a delta when the job sends deltas and it holds the version
   * before). The fetch stays for a worker whose copy did not check out.
   */
  private pushParams(run: Run, w: ConnectedWorker, assignmentId: number) {
    if (!run.kind.params) return;
    const held = w.params?.job === run.id ? w.params.version : undefined;
    if (held === run.version) return;
    w.link.send(run.kind.params(run, held), assignmentId);
    w.params = { job: run.id, version: run.version };
  }

  /** End `workerId`'s lease of `shard` (pending or written); the shard goes back to the pool. */
  async endLease(shard: Shard, workerId: string, state: 'expired' | 'released', reason: string) {
    const slot = shard.backup?.workerId === workerId ? 'backup' : 'lease';
    const id = shard[slot]?.assignmentId;
    if (id !== undefined) return this.expire(id, state, reason);
    this.o.workers.get(workerId)?.holds.delete(shard);
    if (shard[slot]?.workerId === workerId) shard[slot] = undefined; // a lease still waiting for its id sees this and ends its row expired
  }

  /** End a lease that has its id, and will not complete. */
  async expire(assignmentId: number, state: 'expired' | 'released' | 'rejected', reason: string) {
    const lease = this.leases.end(assignmentId);
    if (!lease) return;
    const shard = this.shardOf(lease.jobId, lease.round, lease.shard);
    if (shard) this.o.workers.get(lease.workerId)?.holds.delete(shard);
    if (shard?.lease?.assignmentId === assignmentId) shard.lease = undefined;
    if (shard?.backup?.assignmentId === assignmentId) shard.backup = undefined;
    this.o.metrics.leasesEnded.inc({ state });
    const { jobId: job, round, shard: index, workerId: worker } = lease;
    this.o.log.info('lease ended', { assignment: assignmentId, job, round, shard: index, worker, state, reason });
    if (state !== 'rejected' && !this.o.stopped()) await this.ledger.finish(assignmentId, state);
  }

  shardOf(jobId: number, round: number, index: number): Shard | undefined {
    const run = this.o.runs.get(jobId);
    return run?.round.index === round ? run.round.shards[index] : undefined;
  }

  /** Revoke `shard`'s leases: both (the lease and a backup), or only `workerId`'s. */
  async revokeShard(shard: Shard, reason: string, workerId?: string) {
    for (const l of [shard.lease, shard.backup]) if (l && (workerId === undefined || l.workerId === workerId)) await this.revokeLease(shard, l, reason);
  }

  private async revokeLease(shard: Shard, l: ShardLease, reason: string) {
    if (l.assignmentId === undefined) return this.endLease(shard, l.workerId, 'released', reason);
    return this.revoke(l.assignmentId, reason);
  }

  async revoke(assignmentId: number, reason: string) {
    const lease = this.leases.get(assignmentId);
    await this.expire(assignmentId, 'released', reason);
    if (lease) this.o.workers.get(lease.workerId)?.link.send({ type: 'revoke', assignmentId, reason });
  }

  /**
   * A result for `lease` was accepted: the lease ends without a store write (the result's transaction does it), and
   * the shard's other lease, if it was backed up, is revoked: its result is no longer wanted.
   */
  settle(lease: Lease, shard: Shard) {
    this.leases.end(lease.assignmentId);
    const w = this.o.workers.get(lease.workerId);
    w?.holds.delete(shard);
    // Observed speed replaces the claimed one: a worker cannot talk its way to the front of the queue.
    if (w) {
      w.rate = shard.count / Math.max(0.001, (this.o.now() - lease.since) / 1000);
      w.observed = true;
    }
    const other = shard.lease?.assignmentId === lease.assignmentId ? shard.backup : shard.lease;
    shard.lease = undefined;
    shard.backup = undefined;
    if (other) void this.revokeLease(shard, other, 'the shard was finished by another worker').catch(() => {});
  }

  /** Revoke every lease past its deadline. */
  async revokeOverdue() {
    for (const lease of this.leases.overdue(this.o.now())) {
      this.avoid(lease);
      // A lease let lapse is a measurement too: nothing in the lease's time. Until its next accepted result the
      // worker is sized out of by-rate rounds, last in line, and backed up at once (a claimed speed is not believed).
      const w = this.o.workers.get(lease.workerId);
      if (w) {
        w.rate = 0;
        w.observed = true;
      }
      await this.revoke(lease.assignmentId, 'lease deadline passed');
    }
  }

  /** A lease let lapse or handed back is not free: while others can take the shard, it goes to someone else. */
  avoid(lease: Lease) {
    const shard = this.shardOf(lease.jobId, lease.round, lease.shard);
    if (shard) passOver(shard, lease.workerId);
  }

  /** The lease behind an assignment id, if any. */
  leaseOf(assignmentId: number | undefined) {
    return assignmentId === undefined ? undefined : this.leases.get(assignmentId);
  }
}
