import type { Metrics } from '../metrics';
import type { Run } from './kind';
import { lateShard } from './late-shards';
import type { LeaseKeeper } from './lease-keeper';
import { busyMs, fasterFinishAll, type Pace } from './pace';
import type { Shard } from './round';
import { isTiebreak, othersIn } from './verification';
import type { ConnectedWorker, WorkerRegistry } from './workers';

/** Distinct workers a round should have votes from, where that many can take work (training/outliers.ts). */
const MIN_VOTERS = 3;

/** How often the dispatch order (fastest workers first) is rebuilt; between rebuilds newcomers go last. */
const REORDER_MS = 1000;

export interface PlacementOptions {
  runs: Map<number, Run>;
  workers: WorkerRegistry;
  keeper: LeaseKeeper;
  metrics: Metrics;
  now: () => number;
}

/**
 * Who may take which shard: free shards to the fastest workers with free slots, within each job's share cap,
 * checks to workers of other tokens, backups of late shards to idle workers, capped workers to jobs they can
 * afford. Writing, ending and revoking leases is lease-keeper.ts's.
 */
export class Placement {
  /** Workers fastest first, rebuilt at most every REORDER_MS: free shards go to whoever finishes them soonest. */
  private order: ConnectedWorker[] = [];
  private orderedAt = 0;
  /** Per job, the fastest rate found held back in this dispatch pass: any slower worker is held back too. */
  private heldBack = new Map<number, number>();
  /** Answers of anyConnected in this dispatch pass (thousands of same-network workers would otherwise each scan all). */
  private found = new Map<string, boolean>();

  constructor(private readonly o: PlacementOptions) {}

  /** A new connection: last in line until the order is rebuilt. */
  joined(w: ConnectedWorker) {
    this.order.push(w);
  }

  /** `w` has new free slots: offer it work at once. */
  offer(w: ConnectedWorker) {
    this.heldBack.clear();
    this.found.clear();
    this.dispatch(w);
  }

  /** Offer free shards to workers with free slots, then backups of late shards; stops as soon as neither is left (thousands of idle workers are usual). */
  dispatchAll() {
    let free = 0;
    for (const run of this.o.runs.values())
      if (run.state === 'running' && !run.round.closing) for (const s of run.round.shards) if (!s.lease && !s.result && !s.waived) free++;
    const now = this.o.now();
    this.heldBack.clear();
    this.found.clear();
    if (now - this.orderedAt > REORDER_MS) {
      this.order = [...this.o.workers.all()].sort((a, b) => b.rate - a.rate);
      this.orderedAt = now;
    }
    for (const w of this.order) {
      if (!this.o.workers.current(w) || w.holds.size >= w.slots) continue;
      if (free > 0) free -= this.dispatch(w);
      // Nothing free: the fastest idle worker may back up a late shard; if it finds none, no slower one will.
      else if (!this.backUp(w)) return;
    }
  }

  /**
   * Hand `w` as many unleased shards as it has free slots; shard order first, jobs in id order. `w` is passed over
   * for a shard whose result from it was refused (or whose lease it let lapse or handed back), and once it holds the
   * job's share of a round (so one fast worker cannot supply most of a round's votes), but only while another
   * worker could take that shard without either: preferences never leave a shard nobody may take. A worker slower
   * than others leaves the round's last shards to them when, at the rates measured, they would finish them all
   * before it finished one: the round is not held by its slowest worker.
   */
  private dispatch(w: ConnectedWorker): number {
    if (this.o.workers.isQuarantined(w.link.id)) return 0;
    let leased = 0;
    for (const run of this.affordable(w)) {
      if (run.state !== 'running' || run.round.closing) continue;
      if (run.spec.workers === 'native' && w.link.kind !== 'native') continue;
      const cap = shareCap(run);
      const held = holders(run);
      let mine = held.get(w.link.id) ?? 0;
      let othersFree: boolean | undefined; // whether another worker could take any shard nobody refused
      let leave: boolean | undefined; // whether faster workers would finish every plain free shard sooner
      for (const shard of run.round.shards) {
        if (w.holds.size >= w.slots) break;
        if (shard.lease || shard.result || shard.waived) continue;
        if (shard.copyOf !== undefined && !this.mayCheck(run, shard, w)) continue;
        // Any plain shard answers for all of them: each search runs once per job, not once per shard.
        const plain = !shard.refusedBy?.size && shard.copyOf === undefined;
        if (mine >= cap || shard.refusedBy?.has(w.link.id)) {
          if (plain && othersFree === undefined) othersFree = this.preferredOther(run, shard, w, cap, held);
          if (plain ? othersFree : this.preferredOther(run, shard, w, cap, held)) continue;
        } else if (plain) {
          if (leave === undefined) leave = this.leaveToFaster(run, w, cap, held);
          if (leave) continue;
        }
        mine++;
        leased++;
        void this.o.keeper.lease(run, shard, w);
      }
    }
    return leased + this.backUp(w);
  }

  /** Whether `w` should leave the run's plain free shards to faster workers (pace.ts); only measured rates count. */
  private leaveToFaster(run: Run, w: ConnectedWorker, cap: number, held: Map<string, number>): boolean {
    // A round's outlier checks need three voters: a worker that would be the third is never held back.
    if (!w.observed || (held.size < MIN_VOTERS && !held.has(w.link.id))) return false;
    if (w.rate <= (this.heldBack.get(run.id) ?? -1)) return true;
    const shards = run.round.shards.filter((s) => !s.lease && !s.result && !s.waived && s.copyOf === undefined && !s.refusedBy?.size);
    const faster: Pace[] = [];
    const now = this.o.now();
    for (const x of this.order) {
      if (x.rate <= w.rate || faster.length >= 64) break; // fastest first: the rest are slower
      if (x === w || !this.o.workers.current(x) || !x.observed || !this.o.workers.fits(x, run) || (held.get(x.link.id) ?? 0) >= cap) continue;
      if (x.link.bytesPerHour !== undefined && run.kind.shardBytes(run) > x.link.bytesPerHour) continue;
      const leases = [...x.holds].map((s) => ({ since: this.o.keeper.leaseOf(s.lease?.assignmentId ?? s.backup?.assignmentId)?.since ?? now, count: s.count }));
      const busy = busyMs(leases, x.rate, now);
      if (busy !== undefined) faster.push({ rate: x.rate, busyMs: busy, most: cap - (held.get(x.link.id) ?? 0) });
    }
    const leave = fasterFinishAll(shards.length, shards[0]?.count ?? 0, w.rate, faster);
    if (leave) this.heldBack.set(run.id, Math.max(w.rate, this.heldBack.get(run.id) ?? -1));
    return leave;
  }

  /**
   * Rates of the workers taking work now that may run `run`, fastest first, to size its next round by: observed
   * from accepted results, or as claimed until a worker has one (so a newcomer is sized in, and measured, at once).
   */
  ratesFor(run: Run): number[] {
    return [...this.o.workers.all()]
      .filter((w) => this.o.workers.fits(w, run))
      .map((w) => w.rate)
      .sort((a, b) => b - a);
  }

  /** Whether a worker other than `w` may run `run` and could take `shard` without passing over a preference. */
  private preferredOther(run: Run, shard: Shard, w: ConnectedWorker, cap: number, held: Map<string, number>): boolean {
    for (const other of this.o.workers.all()) {
      if (other === w || !this.o.workers.fits(other, run) || shard.refusedBy?.has(other.link.id) || (held.get(other.link.id) ?? 0) >= cap) continue;
      if (shard.copyOf === undefined || this.mayCheck(run, shard, other)) return true;
    }
    return false;
  }

  /**
   * The jobs `w` may take shards of, in order: all of them, by id; for a worker with a bandwidth cap, only those of
   * which a shard fits in an hour of it, fewest bytes per sample first (local-step jobs before synchronous ones).
   */
  private affordable(w: ConnectedWorker): Iterable<Run> {
    const cap = w.link.bytesPerHour;
    if (cap === undefined) return this.o.runs.values();
    const bytes = (run: Run) => run.kind.shardBytes(run);
    const cost = (run: Run) => bytes(run) / (run.round.shards[0]?.count || 1);
    return [...this.o.runs.values()].filter((run) => bytes(run) <= cap).sort((a, b) => cost(a) - cost(b));
  }

  /**
   * Straggler insurance: a worker with a free slot and nothing left to take leases a backup of a late shard, one
   * whose holder will finish, at its observed speed, well after this worker could (see late-shards.ts).
   */
  private backUp(w: ConnectedWorker): number {
    if (w.holds.size >= w.slots || this.o.workers.isQuarantined(w.link.id) || !(w.rate > 0)) return 0;
    for (const run of this.o.runs.values()) {
      if (run.state !== 'running' || run.round.closing || !this.o.workers.fits(w, run)) continue;
      const rateOf = (id: string) => this.o.workers.get(id)?.rate ?? 0;
      const shard = lateShard(run.round, w.link.id, w.rate, this.o.now(), (id) => this.o.keeper.leaseOf(id), rateOf);
      if (!shard) continue;
      void this.o.keeper.lease(run, shard, w, 'backup');
      this.o.metrics.backups.inc();
      return 1;
    }
    return 0;
  }

  /**
   * Whether `w` may compute a redundant copy: only once its shard is leased or done (so nobody computing the shard
   * can tell it is checked), never a worker already in the group, and only a worker of another token, on another
   * network than the group's (two tokens minted from one /24 do not check each other) unless no connected worker
   * is; a tiebreak falls back to another identity when no worker of a third token is connected.
   */
  private mayCheck(run: Run, copy: Shard, w: ConnectedWorker): boolean {
    const primary = run.round.shards[copy.copyOf as number];
    if (!primary.lease && !primary.result) return false;
    const others = othersIn(run.round, copy);
    if (others.some((o) => o.workerId === w.link.id)) return false;
    const otherToken = (x: ConnectedWorker) => !others.some((o) => o.tokenId === x.link.tokenId);
    const apart = (x: ConnectedWorker) => otherToken(x) && !others.some((o) => o.network !== undefined && o.network === x.link.network);
    if (apart(w)) return true;
    if (otherToken(w)) return !this.anyConnected(run, copy, 'apart', apart);
    return isTiebreak(run.round, copy) && !this.anyConnected(run, copy, 'other token', otherToken);
  }

  /** Whether a connected worker that may run `run` passes `test`, asked once per copy and question in a dispatch pass. */
  private anyConnected(run: Run, copy: Shard, question: string, test: (x: ConnectedWorker) => boolean): boolean {
    const key = `${run.id}:${copy.index}:${question}`;
    let found = this.found.get(key);
    if (found === undefined) {
      found = [...this.o.workers.all()].some((x) => this.o.workers.fits(x, run) && test(x));
      this.found.set(key, found);
    }
    return found;
  }

  /** Whether any connected worker could compute this redundant copy now; if not, it is waived. */
  couldCheck(run: Run, copy: Shard): boolean {
    this.found.clear(); // asked between dispatch passes: who is connected may have changed
    for (const w of this.o.workers.all()) if (this.o.workers.fits(w, run) && this.mayCheck(run, copy, w)) return true;
    return false;
  }
}

/** The most shards of a round one worker may hold or have computed while others could take them (the kind sets the share). */
function shareCap(run: Run): number {
  return Math.max(1, Math.floor(run.round.shards.length * run.kind.shareCap(run)));
}

/** How many shards of the run's round each worker holds a lease on or has computed. */
function holders(run: Run): Map<string, number> {
  const n = new Map<string, number>();
  for (const s of run.round.shards) for (const id of new Set([s.lease?.workerId, s.result?.workerId])) if (id !== undefined) n.set(id, (n.get(id) ?? 0) + 1);
  return n;
}
