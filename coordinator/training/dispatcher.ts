import { GridError } from '../../protocol/errors';
import type { ServerMessage } from '../../protocol/messages';
import { errorText, type Logger } from '../log';
import type { Metrics } from '../metrics';
import type { Store } from '../store/index';
import { assignmentFor, type Run, shardBytes } from './job-run';
import { lateShard } from './late-shards';
import { type Lease, LeaseTable } from './leases';
import type { Shard, ShardLease } from './round';
import { isTiebreak, othersIn } from './verification';

/** A connected worker as the transport hands it over; one per connection. */
export interface WorkerLink {
  id: string;
  name: string;
  kind: 'browser' | 'native';
  /** The token it connected with: redundant computations of a shard go to workers of different tokens. */
  tokenId: number | null;
  /** Training speed the worker measured on its fastest engine (samples/s), until its own results show the real one. */
  samplesPerSec?: number;
  /** The volunteer's bandwidth cap, bytes per hour (up and down together), when it set one. */
  bytesPerHour?: number;
  send(msg: ServerMessage): void;
  /** End the connection (quarantine, revoked token). */
  close(code: number, reason: string): void;
}

interface ConnectedWorker {
  link: WorkerLink;
  slots: number;
  /** Shards it holds, including leases whose row is still being written. */
  holds: Set<Shard>;
  /** Samples/s: as reported at first, then as observed from lease to accepted result. */
  rate: number;
  /** Counted in `eligible`: not quarantined, and taking work (a paused volunteer, or one out of bandwidth, is not). */
  counted: boolean;
}

/** How often the dispatch order (fastest workers first) is rebuilt; between rebuilds newcomers go last. */
const REORDER_MS = 1000;

export interface DispatcherOptions {
  store: Store;
  log: Logger;
  metrics: Metrics;
  /** The scheduler's live jobs, read here to find free shards. */
  runs: Map<number, Run>;
  now: () => number;
  stopped: () => boolean;
}

/**
 * Connected workers and their leases: who may take which shard, writing each lease before it is sent, and ending
 * leases that will not complete (disconnect, release, deadline, refusal) so their shards go back to the pool.
 */
export class Dispatcher {
  private readonly workers = new Map<string, ConnectedWorker>();
  /** Workers fastest first, rebuilt at most every REORDER_MS: free shards go to whoever finishes them soonest. */
  private order: ConnectedWorker[] = [];
  private orderedAt = 0;
  /** Quarantined worker ids seen by this coordinator (the store keeps them for every coordinator). */
  private readonly quarantined = new Set<string>();
  /** Connected workers not quarantined, in all and native only: what `maxShare` and refusals need to know. */
  private readonly eligible = { any: 0, native: 0 };
  readonly leases = new LeaseTable();

  constructor(private readonly o: DispatcherOptions) {}

  /** Register a connection; false when a live connection already holds this worker id (the caller issues another). */
  addWorker(link: WorkerLink): boolean {
    if (this.workers.has(link.id)) return false;
    const w: ConnectedWorker = { link, slots: 0, holds: new Set(), rate: Math.min(link.samplesPerSec ?? 0, 1e7), counted: false };
    this.workers.set(link.id, w);
    this.order.push(w);
    this.o.metrics.workersConnected.set(this.workers.size);
    return true;
  }

  async removeWorker(link: WorkerLink) {
    const w = this.workers.get(link.id);
    if (w?.link !== link) return; // not this connection's registration
    this.workers.delete(link.id);
    w.slots = 0;
    this.recount(w);
    this.o.metrics.workersConnected.set(this.workers.size);
    for (const shard of [...w.holds]) await this.endLease(shard, link.id, 'expired', 'worker disconnected');
    if (this.o.stopped()) return; // sockets closing at shutdown: the store may already be gone
    await this.o.store.setWorkerState(link.id, 'offline');
    this.dispatchAll();
  }

  ready(workerId: string, slots: number) {
    const w = this.workers.get(workerId);
    if (!w) return;
    w.slots = slots;
    this.recount(w);
    this.dispatch(w);
  }

  async release(workerId: string, assignmentId: number, reason = '') {
    const lease = this.leases.get(assignmentId);
    if (!lease || lease.workerId !== workerId) throw new GridError('UNKNOWN_ASSIGNMENT');
    this.avoid(lease);
    await this.expire(assignmentId, 'released', `handed back by the worker: ${reason}`);
    this.dispatchAll();
  }

  /** Offer free shards to workers with free slots; stops as soon as none is left (thousands of idle workers are usual). */
  dispatchAll() {
    let free = 0;
    for (const run of this.o.runs.values())
      if (run.state === 'running' && !run.round.closing) for (const s of run.round.shards) if (!s.lease && !s.result && !s.waived) free++;
    const now = this.o.now();
    if (now - this.orderedAt > REORDER_MS) {
      this.order = [...this.workers.values()].sort((a, b) => b.rate - a.rate);
      this.orderedAt = now;
    }
    for (const w of this.order) {
      if (free <= 0) return;
      if (this.workers.get(w.link.id) === w && w.holds.size < w.slots) free -= this.dispatch(w);
    }
  }

  /**
   * Hand `w` as many unleased shards as it has free slots; shard order first, jobs in id order. While any other
   * worker could take them, `w` gets no shard whose result from it was refused and no more than the job's share
   * of a round, so one fast worker cannot supply most of a round's votes.
   */
  private dispatch(w: ConnectedWorker): number {
    if (this.quarantined.has(w.link.id)) return 0;
    let leased = 0;
    for (const run of this.affordable(w)) {
      if (run.state !== 'running' || run.round.closing) continue;
      if (run.spec.workers === 'native' && w.link.kind !== 'native') continue;
      const alone = !this.othersCouldRun(w, run);
      const shards = run.round.shards;
      // Training rounds cap one worker's share of the votes; inference has no votes to cap.
      const share = run.spec.mode === 'inference' ? 1 : run.spec.aggregation.maxShare;
      const cap = alone ? shards.length : Math.max(1, Math.floor(shards.length * share));
      let mine = shards.filter((s) => s.lease?.workerId === w.link.id || s.result?.workerId === w.link.id).length;
      for (const shard of shards) {
        if (w.holds.size >= w.slots || mine >= cap) break;
        if (shard.lease || shard.result || shard.waived || (!alone && this.someoneElseFor(shard, w, run))) continue;
        if (shard.copyOf !== undefined && !this.mayCheck(run, shard, w)) continue;
        mine++;
        leased++;
        void this.lease(run, shard, w);
      }
    }
    return leased + this.backUp(w);
  }

  /**
   * The jobs `w` may take shards of, in order: all of them, by id; for a worker with a bandwidth cap, only those of
   * which a shard fits in an hour of it, fewest bytes per sample first (local-step jobs before synchronous ones).
   */
  private affordable(w: ConnectedWorker): Iterable<Run> {
    const cap = w.link.bytesPerHour;
    if (cap === undefined) return this.o.runs.values();
    const cost = (run: Run) => shardBytes(run) / (run.round.shards[0]?.count || 1);
    return [...this.o.runs.values()].filter((run) => shardBytes(run) <= cap).sort((a, b) => cost(a) - cost(b));
  }

  /**
   * Straggler insurance: a worker with a free slot and nothing left to take leases a backup of a late shard, one
   * whose holder will finish, at its observed speed, well after this worker could (see late-shards.ts).
   */
  private backUp(w: ConnectedWorker): number {
    if (w.holds.size >= w.slots || this.quarantined.has(w.link.id) || !(w.rate > 0)) return 0;
    for (const run of this.o.runs.values()) {
      if (run.state !== 'running' || run.round.closing || !this.fits(w, run)) continue;
      const shard = lateShard(
        run.round,
        w.link.id,
        w.rate,
        this.o.now(),
        (id) => this.leaseOf(id),
        (id) => this.workers.get(id)?.rate ?? 0,
      );
      if (!shard) continue;
      void this.lease(run, shard, w, 'backup');
      this.o.metrics.backups.inc();
      return 1;
    }
    return 0;
  }

  private leaseOf(assignmentId: number | undefined) {
    return assignmentId === undefined ? undefined : this.leases.get(assignmentId);
  }

  /**
   * Whether `w` should leave `shard` to another worker: it failed it (refused, lapsed, handed back) and some eligible
   * worker has not. When every eligible worker has failed it, anyone may take it again, or the round would stall.
   */
  private someoneElseFor(shard: Shard, w: ConnectedWorker, run: Run) {
    const failed = shard.refusedBy;
    if (!failed?.has(w.link.id)) return false;
    let blocked = 0;
    for (const id of failed) {
      const other = this.workers.get(id);
      if (other && this.fits(other, run)) blocked++;
    }
    return this.eligibleFor(run) - blocked > 0;
  }

  /**
   * Whether `w` may compute a redundant copy: only once its shard is leased or done (so nobody computing the shard
   * can tell it is checked), never a worker already in the group, and only a worker of another token; a tiebreak
   * falls back to another identity when no worker of a third token is connected.
   */
  private mayCheck(run: Run, copy: Shard, w: ConnectedWorker): boolean {
    const primary = run.round.shards[copy.copyOf as number];
    if (!primary.lease && !primary.result) return false;
    const others = othersIn(run.round, copy);
    if (others.some((o) => o.workerId === w.link.id)) return false;
    if (!others.some((o) => o.tokenId === w.link.tokenId)) return true;
    return isTiebreak(run.round, copy) && ![...this.workers.values()].some((x) => this.fits(x, run) && !others.some((o) => o.tokenId === x.link.tokenId));
  }

  /** Whether any connected worker could compute this redundant copy now; if not, it is waived. */
  couldCheck(run: Run, copy: Shard): boolean {
    for (const w of this.workers.values()) if (this.fits(w, run) && this.mayCheck(run, copy, w)) return true;
    return false;
  }

  /** Whether `w` takes work now (unquarantined, with slots) and may run this job's shards. */
  private fits(w: ConnectedWorker, run: Run) {
    return w.counted && (run.spec.workers !== 'native' || w.link.kind === 'native');
  }

  /** Workers taking work now that may run this job's shards (counted, not searched). */
  private eligibleFor(run: Run) {
    return run.spec.workers === 'native' ? this.eligible.native : this.eligible.any;
  }

  /** Whether another connected, unquarantined worker could take this job's shards. */
  private othersCouldRun(w: ConnectedWorker, run: Run) {
    return this.eligibleFor(run) - (this.fits(w, run) ? 1 : 0) > 0;
  }

  /** Keep `eligible` in step with who takes work now. */
  private recount(w: ConnectedWorker) {
    const counted = w.slots > 0 && !this.quarantined.has(w.link.id) && this.workers.get(w.link.id) === w;
    if (counted === w.counted) return;
    w.counted = counted;
    const by = counted ? 1 : -1;
    this.eligible.any += by;
    if (w.link.kind === 'native') this.eligible.native += by;
  }

  /** Stop giving `workerId` work, end its leases and its connection. The caller discards its open results. */
  async quarantine(workerId: string, reason: string) {
    const w = this.workers.get(workerId);
    this.quarantined.add(workerId);
    if (w) this.recount(w);
    this.o.log.warn('worker quarantined', { worker: workerId, reason });
    if (!w) return;
    for (const shard of [...w.holds]) await this.revokeShard(shard, 'worker quarantined', workerId);
    w.link.send({ type: 'error', code: 'QUARANTINED', message: reason });
    w.link.close(4003, 'QUARANTINED');
  }

  isQuarantined(workerId: string) {
    return this.quarantined.has(workerId);
  }

  /** Reserve `shard` for `w` at once, write the lease row, then send the assignment if nothing changed meanwhile. */
  private async lease(run: Run, shard: Shard, w: ConnectedWorker, slot: 'lease' | 'backup' = 'lease') {
    const lease: ShardLease = { workerId: w.link.id, tokenId: w.link.tokenId };
    const round = run.round;
    shard[slot] = lease;
    w.holds.add(shard);
    const { leaseMs } = run.spec;
    const row = { jobId: run.id, round: round.index, shard: shard.index, workerId: w.link.id, leaseMs };
    const id = await this.o.store.createAssignment(row).catch((e) => {
      this.o.log.error('lease could not be written; the shard stays free', { job: run.id, err: errorText(e) });
      return undefined;
    });
    const current =
      shard[slot] === lease &&
      !shard.result &&
      this.workers.get(w.link.id) === w &&
      this.o.runs.get(run.id) === run &&
      run.round === round &&
      run.state === 'running';
    if (id === undefined || !current) {
      if (shard[slot] === lease) shard[slot] = undefined;
      w.holds.delete(shard);
      if (id !== undefined) await this.o.store.finishAssignment(id, 'expired').catch(() => {});
      return;
    }
    lease.assignmentId = id;
    this.leases.add({
      assignmentId: id,
      jobId: run.id,
      round: round.index,
      shard: shard.index,
      workerId: w.link.id,
      paramsVersion: run.version,
      since: this.o.now(),
      until: this.o.now() + leaseMs,
      live: true,
    });
    w.link.send(assignmentFor(run, shard, id));
    this.o.metrics.shardsAssigned.inc();
  }

  /** End `workerId`'s lease of `shard` (pending or written); the shard goes back to the pool. */
  private async endLease(shard: Shard, workerId: string, state: 'expired' | 'released', reason: string) {
    const slot = shard.backup?.workerId === workerId ? 'backup' : 'lease';
    const id = shard[slot]?.assignmentId;
    if (id !== undefined) return this.expire(id, state, reason);
    this.workers.get(workerId)?.holds.delete(shard);
    if (shard[slot]?.workerId === workerId) shard[slot] = undefined; // a pending insert sees this and marks its row expired
  }

  /** End a written lease that will not complete. */
  async expire(assignmentId: number, state: 'expired' | 'released' | 'rejected', reason: string) {
    const lease = this.leases.end(assignmentId);
    if (!lease) return;
    const shard = this.shardOf(lease.jobId, lease.round, lease.shard);
    if (shard) this.workers.get(lease.workerId)?.holds.delete(shard);
    if (shard?.lease?.assignmentId === assignmentId) shard.lease = undefined;
    if (shard?.backup?.assignmentId === assignmentId) shard.backup = undefined;
    this.o.metrics.leasesEnded.inc({ state });
    this.o.log.info('lease ended', {
      assignment: assignmentId,
      job: lease.jobId,
      round: lease.round,
      shard: lease.shard,
      worker: lease.workerId,
      state,
      reason,
    });
    if (state !== 'rejected' && !this.o.stopped()) await this.o.store.finishAssignment(assignmentId, state);
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
    if (lease) this.workers.get(lease.workerId)?.link.send({ type: 'revoke', assignmentId, reason });
  }

  /**
   * A result for `lease` was accepted: the lease ends without a store write (the result's transaction does it), and
   * the shard's other lease, if it was backed up, is revoked: its result is no longer wanted.
   */
  settle(lease: Lease, shard: Shard) {
    this.leases.end(lease.assignmentId);
    const w = this.workers.get(lease.workerId);
    w?.holds.delete(shard);
    // Observed speed replaces the claimed one: a worker cannot talk its way to the front of the queue.
    if (w) w.rate = shard.count / Math.max(0.001, (this.o.now() - lease.since) / 1000);
    const other = shard.lease?.assignmentId === lease.assignmentId ? shard.backup : shard.lease;
    shard.lease = undefined;
    shard.backup = undefined;
    if (other) void this.revokeLease(shard, other, 'the shard was finished by another worker').catch(() => {});
  }

  /** Revoke every lease past its deadline. */
  async revokeOverdue() {
    for (const lease of this.leases.overdue(this.o.now())) {
      this.avoid(lease);
      await this.revoke(lease.assignmentId, 'lease deadline passed');
    }
  }

  /** A lease let lapse or handed back is not free: while others can take the shard, it goes to someone else. */
  private avoid(lease: Lease) {
    const shard = this.shardOf(lease.jobId, lease.round, lease.shard);
    if (shard) shard.refusedBy = (shard.refusedBy ?? new Set()).add(lease.workerId);
  }

  /** Whether `workerId` is connected now, under `tokenId`. */
  isConnectedWith(workerId: string, tokenId: number): boolean {
    return this.workers.get(workerId)?.link.tokenId === tokenId;
  }

  tokenOf(workerId: string): number | null {
    return this.workers.get(workerId)?.link.tokenId ?? null;
  }

  get workerCount() {
    return this.workers.size;
  }
}
