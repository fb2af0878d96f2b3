import type { ServerMessage } from '../../protocol/messages';
import type { Metrics } from '../metrics';
import type { Run } from './kind';
import type { Shard } from './round';

/** A connected worker as the transport hands it over; one per connection. */
export interface WorkerLink {
  id: string;
  name: string;
  kind: 'browser' | 'native';
  /** The token it connected with: redundant computations of a shard go to workers of different tokens. */
  tokenId: number | null;
  /** Connected with an operator-scoped token: the operator's own machine, with full standing from its first result. */
  trusted?: boolean;
  /** The network it connects from (its address's /24 or /64): redundant computations go to another where one can. */
  network?: string;
  /** Training speed the worker measured on its fastest engine (samples/s), until its own results show the real one. */
  samplesPerSec?: number;
  /** The volunteer's bandwidth cap, bytes per hour (up and down together), when it set one. */
  bytesPerHour?: number;
  /** Send a message or a binary frame; bytes sent for an assignment (its parameters) count for its job too. */
  send(msg: ServerMessage | Uint8Array, forAssignment?: number): void;
  /** End the connection (quarantine, revoked token). */
  close(code: number, reason: string): void;
}

export interface ConnectedWorker {
  link: WorkerLink;
  slots: number;
  /** Shards it holds, including leases whose row is still being written. */
  holds: Set<Shard>;
  /** Samples/s: as reported at first, then as observed from lease to accepted result. */
  rate: number;
  /** Whether `rate` is observed (it has had a result accepted), not only claimed: only observed rates hold others back. */
  observed: boolean;
  /** The parameters last pushed on this connection: the next push is a delta from them, or nothing. */
  params?: { job: number; version: number };
  /** Counted in `eligible`: not quarantined, and taking work (a paused volunteer, or one out of bandwidth, is not). */
  counted: boolean;
}

/** The connected workers, the quarantined ones seen here, and how many take work now (in all, and native only). */
export class WorkerRegistry {
  private readonly workers = new Map<string, ConnectedWorker>();
  /** Quarantined worker ids seen by this coordinator (the store keeps them for every coordinator). */
  private readonly quarantined = new Set<string>();
  private readonly eligible = { any: 0, native: 0 };

  constructor(private readonly metrics: Metrics) {}

  /** Register a connection; undefined when a live connection already holds this worker id. */
  add(link: WorkerLink): ConnectedWorker | undefined {
    if (this.workers.has(link.id)) return undefined;
    const w: ConnectedWorker = { link, slots: 0, holds: new Set(), rate: Math.min(link.samplesPerSec ?? 0, 1e7), observed: false, counted: false };
    this.workers.set(link.id, w);
    this.metrics.workersConnected.set(this.workers.size);
    return w;
  }

  /** Unregister this connection (not another one under the same id); returns what it was. */
  remove(link: WorkerLink): ConnectedWorker | undefined {
    const w = this.workers.get(link.id);
    if (w?.link !== link) return undefined;
    this.workers.delete(link.id);
    w.slots = 0;
    this.recount(w);
    this.metrics.workersConnected.set(this.workers.size);
    return w;
  }

  get(workerId: string): ConnectedWorker | undefined {
    return this.workers.get(workerId);
  }

  /** Whether `w` is still the registered connection for its id. */
  current(w: ConnectedWorker): boolean {
    return this.workers.get(w.link.id) === w;
  }

  all(): IterableIterator<ConnectedWorker> {
    return this.workers.values();
  }

  setSlots(w: ConnectedWorker, slots: number) {
    w.slots = slots;
    this.recount(w);
  }

  /** Mark `workerId` quarantined here; returns its connection when it has one. */
  shutOut(workerId: string): ConnectedWorker | undefined {
    const w = this.workers.get(workerId);
    this.quarantined.add(workerId);
    if (w) this.recount(w);
    return w;
  }

  isQuarantined(workerId: string) {
    return this.quarantined.has(workerId);
  }

  /** Whether `w` takes work now (unquarantined, with slots) and may run this job's shards. */
  fits(w: ConnectedWorker, run: Run) {
    return w.counted && (run.spec.workers !== 'native' || w.link.kind === 'native');
  }

  /** Workers taking work now that may run this job's shards (counted, not searched). */
  eligibleFor(run: Run) {
    return run.spec.workers === 'native' ? this.eligible.native : this.eligible.any;
  }

  /** Whether `workerId` is connected now, under `tokenId`. */
  isConnectedWith(workerId: string, tokenId: number): boolean {
    return this.workers.get(workerId)?.link.tokenId === tokenId;
  }

  tokenOf(workerId: string): number | null {
    return this.workers.get(workerId)?.link.tokenId ?? null;
  }

  get size() {
    return this.workers.size;
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
}
