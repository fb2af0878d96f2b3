import { GridError } from '../../protocol/errors';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { Store } from '../store/index';
import type { Run } from './kind';
import { LeaseKeeper } from './lease-keeper';
import { Placement } from './placement';
import { type WorkerLink, WorkerRegistry } from './workers';

export type { WorkerLink };

export interface DispatcherOptions {
  store: Store;
  log: Logger;
  metrics: Metrics;
  /** The scheduler's live jobs, read here to find free shards. */
  runs: Map<number, Run>;
  now: () => number;
  stopped: () => boolean;
  /** Fail a job nobody can compute (its every shard handed back, again and again), with the reason on record. */
  giveUp: (run: Run, reason: string) => Promise<void>;
}

/** Handbacks in a row, without an accepted result between them, after which a job is failed: at least this many... */
const HOPELESS_HANDBACKS = 20;
/** ...and at least this many per shard of a round, so that each shard has been tried by workers more than once. */
const HOPELESS_PER_SHARD = 3;

/**
 * Workers coming and going, composed of three parts: who is connected (workers.ts), their leases
 * (lease-keeper.ts) and who gets which shard (placement.ts).
 */
export class Dispatcher {
  readonly workers: WorkerRegistry;
  readonly keeper: LeaseKeeper;
  readonly placement: Placement;

  constructor(private readonly o: DispatcherOptions) {
    this.workers = new WorkerRegistry(o.metrics);
    this.keeper = new LeaseKeeper({ ...o, workers: this.workers });
    this.placement = new Placement({ ...o, workers: this.workers, keeper: this.keeper });
  }

  get leases() {
    return this.keeper.leases;
  }

  /** Register a connection; false when a live connection already holds this worker id (the caller issues another). */
  addWorker(link: WorkerLink): boolean {
    const w = this.workers.add(link);
    if (w) this.placement.joined(w);
    return w !== undefined;
  }

  async removeWorker(link: WorkerLink) {
    const w = this.workers.remove(link);
    if (!w) return; // not this connection's registration
    for (const shard of [...w.holds]) await this.keeper.endLease(shard, link.id, 'expired', 'worker disconnected');
    if (this.o.stopped()) return; // sockets closing at shutdown: the store may already be gone
    await this.o.store.setWorkerState(link.id, 'offline');
    this.dispatchAll();
  }

  ready(workerId: string, slots: number) {
    const w = this.workers.get(workerId);
    if (!w) return;
    this.workers.setSlots(w, slots);
    this.placement.offer(w);
  }

  async release(workerId: string, assignmentId: number, reason = '') {
    const lease = this.leases.get(assignmentId);
    if (!lease || lease.workerId !== workerId) throw new GridError('UNKNOWN_ASSIGNMENT');
    this.keeper.avoid(lease);
    await this.keeper.expire(assignmentId, 'released', `handed back by the worker: ${reason}`);
    const run = this.o.runs.get(lease.jobId);
    if (run) {
      run.handbacks = (run.handbacks ?? 0) + 1;
      // A job no worker can compute (a model every engine fails on) would otherwise be re-leased forever.
      if (run.handbacks >= Math.max(HOPELESS_HANDBACKS, HOPELESS_PER_SHARD * run.round.shards.length))
        return this.o.giveUp(run, `${run.handbacks} shards in a row were handed back and none was accepted; the last: ${reason}`);
    }
    this.dispatchAll();
  }

  dispatchAll() {
    this.placement.dispatchAll();
  }

  /** Stop giving `workerId` work, end its leases and its connection. The caller discards its open results. */
  async shutOut(workerId: string, reason: string) {
    const w = this.workers.shutOut(workerId);
    this.o.log.warn('worker quarantined', { worker: workerId, reason });
    if (!w) return;
    for (const shard of [...w.holds]) await this.keeper.revokeShard(shard, 'worker quarantined', workerId);
    w.link.send({ type: 'error', code: 'QUARANTINED', message: reason });
    w.link.close(4003, 'QUARANTINED');
  }

  get workerCount() {
    return this.workers.size;
  }
}
