import type { ErrorCode } from '../protocol/errors';
import type { ServerMessage } from '../protocol/messages';
import { KEEPALIVE_BYTES, TransferBudget } from './budget';
import { Connection } from './connection';
import { DataClient } from './data';
import { type Clock, systemClock } from './host';
import type { WorkerEvent, WorkerOptions } from './options';
import { makeRunners } from './runners';
import { isWork, runnerFor, type ShardRunners, type Work } from './shard-runner';

export type { WorkerEvent, WorkerOptions };

/**
 * The worker loop, shared by the browser Web Worker and the native worker: take assignments from the connection
 * (connection.ts), fetch (or reuse) verified data, compute each on its kind's runner, send results as binary frames,
 * honour pause/resume/stop and the volunteer's bandwidth cap. GPU, socket, storage and clock are injected.
 */
export class WorkerLoop {
  private readonly connection: Connection;
  private readonly data: DataClient;
  private readonly runners: ShardRunners;
  private readonly clock: Clock;
  /** The bandwidth cap, when the volunteer set one; `budgetWait` is set while the loop waits for room in it. */
  private budget?: TransferBudget;
  private budgetWait?: unknown;
  private readonly queue: Work[] = [];
  private readonly revoked = new Set<number>();
  private readonly inFlight = new Set<number>();
  private paused = false;
  private stopping = false;
  private busy = false;
  private idleWaiters: (() => void)[] = [];
  /** Fraction of wall time to stay idle (0 = flat out); volunteers turn this up to keep their machine cool. */
  throttle = 0;
  private failures = 0;
  workerId?: string;
  shardsDone = 0;
  samplesDone = 0;

  constructor(private readonly o: WorkerOptions) {
    this.workerId = o.workerId;
    this.clock = o.clock ?? systemClock;
    const coordinators = (Array.isArray(o.coordinator) ? o.coordinator : [o.coordinator]).map((u) => u.replace(/\/$/, ''));
    this.data = new DataClient(coordinators[0], o.token, o.cache, o.fetch);
    this.runners = makeRunners(o, this.data, (e) => this.emit(e));
    this.connection = new Connection(
      o,
      coordinators,
      this.clock,
      {
        connecting: (base) => {
          this.data.base = base;
        },
        message: (msg) => void this.onMessage(msg),
        frame: (bytes) => this.onFrame(bytes),
        badMessage: (e) => this.emit({ type: 'refused', code: 'BAD_MESSAGE', message: String(e) }),
        closed: (code, reason, retryInMs) => this.closed(code, reason, retryInMs),
      },
      () => this.workerId,
    );
    this.setMaxBytesPerHour(o.maxBytesPerHour);
  }

  private emit(e: WorkerEvent) {
    this.o.onEvent?.(e);
  }

  start() {
    this.stopping = false;
    this.connection.open();
  }

  /** Leases die with the connection: whatever is queued or computing is given up, the coordinator reassigns it. */
  private closed(code: number, reason: string, retryInMs?: number) {
    for (const a of this.queue.splice(0)) this.revoked.add(a.assignmentId);
    for (const id of this.inFlight) this.revoked.add(id);
    this.emit({ type: 'disconnected', code, reason, ...(retryInMs === undefined ? {} : { retryInMs }) });
    if (retryInMs === undefined) this.setState('stopped');
  }

  private send(msg: Parameters<Connection['send']>[0]) {
    return this.connection.send(msg);
  }

  private holds(assignmentId: number) {
    return this.inFlight.has(assignmentId) || this.queue.some((a) => a.assignmentId === assignmentId);
  }

  private slots() {
    return this.paused || this.stopping || this.budgetWait ? 0 : (this.o.concurrency ?? 1);
  }

  /**
   * Whether the shard's bytes still fit the volunteer's cap. If not, it is handed back and no work is taken until
   * enough of the last hour's traffic has aged out.
   */
  private async affordable(a: Work): Promise<boolean> {
    if (!this.budget) return true;
    this.budget.recordTotal(this.bytesMoved);
    const cost = (await runnerFor(this.runners, a).cost(a)) + KEEPALIVE_BYTES;
    if (this.budget.fits(cost)) return true;
    this.send({ type: 'release', assignmentId: a.assignmentId, reason: `bandwidth cap: ${cost} bytes do not fit the hour's remaining budget` });
    const wait = Math.min(this.budget.msUntilFits(cost), 3_600_000);
    this.emit({ type: 'budget', usedBytes: this.budget.used(), bytesPerHour: this.budget.bytesPerHour, resumeInMs: wait });
    if (!this.budgetWait) {
      this.budgetWait = this.clock.setTimeout(() => {
        this.budgetWait = undefined;
        this.send({ type: 'ready', slots: this.slots() });
      }, wait);
      this.send({ type: 'ready', slots: 0 });
    }
    return false;
  }

  private async onMessage(msg: ServerMessage) {
    if (isWork(this.runners, msg)) {
      this.queue.push(msg);
      // Its data and parameters arrive while the shard ahead computes; under a bandwidth cap, only once it is affordable.
      if (!this.budget) runnerFor(this.runners, msg).prepare?.(msg);
      const round = 'round' in msg ? msg.round : 0;
      this.emit({ type: 'assigned', job: msg.jobId, round, shard: msg.shard, samples: msg.data.count, about: msg.about });
      return this.drain();
    }
    switch (msg.type) {
      case 'welcome':
        this.workerId = msg.workerId;
        this.data.workerId = msg.workerId;
        this.emit({ type: 'connected', workerId: msg.workerId });
        this.connection.welcomed(msg.heartbeatMs);
        this.send({ type: 'ready', slots: this.slots() });
        return;
      case 'revoke':
        if (this.holds(msg.assignmentId)) this.revoked.add(msg.assignmentId);
        this.emit({ type: 'dropped', assignmentId: msg.assignmentId, reason: msg.reason });
        return;
      case 'ack':
        this.emit({ type: 'accepted', assignmentId: msg.assignmentId });
        return;
      case 'error':
        this.emit({ type: 'refused', code: msg.code, message: msg.message, assignmentId: msg.assignmentId });
        return;
    }
  }

  /** A pushed frame goes to the runner that takes it; one no runner takes is reported, never fatal. */
  private onFrame(bytes: Uint8Array) {
    try {
      if (Object.values(this.runners).some((r) => r.offer?.(bytes))) return;
      this.emit({ type: 'refused', code: 'BAD_FRAME', message: 'a pushed frame no runner takes' });
    } catch (e) {
      this.emit({ type: 'refused', code: 'BAD_FRAME', message: String((e as Error)?.message ?? e) });
    }
  }

  private sleep(ms: number) {
    return new Promise<void>((r) => this.clock.setTimeout(r, ms));
  }

  /** Run queued assignments one at a time; the GPU is shared, so parallel shards would only contend. */
  private async drain() {
    if (this.busy) return;
    this.busy = true;
    try {
      for (let a = this.queue.shift(); a; a = this.queue.shift()) {
        if (this.revoked.delete(a.assignmentId)) continue;
        this.inFlight.add(a.assignmentId); // from here on a revoke finds the shard held
        try {
          if (!(await this.affordable(a)) || this.revoked.has(a.assignmentId)) continue;
          const t0 = this.clock.now();
          await this.compute(a);
          const idle = this.throttle > 0 ? ((this.clock.now() - t0) * this.throttle) / (1 - this.throttle) : 0;
          this.failures = 0;
          if (idle > 0) await this.sleep(Math.min(idle, 60_000));
        } catch (e) {
          this.emit({ type: 'refused', code: 'WORKER_ERROR' satisfies ErrorCode, message: String((e as Error)?.message ?? e), assignmentId: a.assignmentId });
          this.send({ type: 'release', assignmentId: a.assignmentId, reason: String((e as Error)?.message ?? e).slice(0, 200) });
          // Back off before taking more work, or a broken worker would spin on re-leased shards.
          await this.sleep(Math.min(30_000, 1000 * 2 ** this.failures++));
        } finally {
          this.budget?.recordTotal(this.bytesMoved);
          this.inFlight.delete(a.assignmentId);
          this.revoked.delete(a.assignmentId);
        }
      }
    } finally {
      this.busy = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Compute a shard on its runner and send its result, unless its lease ended meanwhile. */
  private async compute(a: Work) {
    const t0 = this.clock.now();
    const done = await runnerFor(this.runners, a).run(a);
    // With `slowdown` k, wait until the shard has taken k times what its computation took (a slow volunteer).
    const k = this.o.slowdown ?? 1;
    if (k > 1) await this.sleep((this.clock.now() - t0) * (k - 1));
    if (this.revoked.has(a.assignmentId)) {
      this.emit({ type: 'dropped', assignmentId: a.assignmentId, reason: 'lease ended while computing' });
      return;
    }
    const frame = done.frame();
    const { samples, loss, correct, paramsVersion, provider, innerStep } = done;
    this.send({ type: 'result', assignmentId: a.assignmentId, paramsVersion, samples, loss, correct, provider });
    this.send(frame);
    runnerFor(this.runners, a).sent?.(a);
    this.shardsDone++;
    this.samplesDone += samples;
    const round = 'round' in a ? a.round : 0;
    const ms = this.clock.now() - t0;
    this.emit({ type: 'computed', job: a.jobId, round, shard: a.shard, samples, loss, ms, bytes: frame.byteLength, provider, innerStep });
  }

  /** Set, change or lift (undefined) the bandwidth cap; what was moved in the last hour still counts. */
  setMaxBytesPerHour(bytes: number | undefined) {
    if (bytes === undefined) this.budget = undefined;
    else if (this.budget) this.budget.bytesPerHour = bytes;
    else this.budget = new TransferBudget(bytes);
  }

  pause() {
    this.paused = true;
    this.send({ type: 'ready', slots: 0 });
    this.setState('paused');
  }

  resume() {
    this.paused = false;
    this.send({ type: 'ready', slots: this.slots() });
    this.setState('running');
  }

  /**
   * Stop taking work. `finish`: complete and send the shard in hand first; otherwise hand it back.
   * Resolves once the socket is closed.
   */
  async stop(mode: 'finish' | 'release' = 'finish') {
    this.stopping = true;
    this.connection.stop();
    this.setState('stopping');
    this.send({ type: 'ready', slots: 0 });
    for (const a of this.queue.splice(0)) this.send({ type: 'release', assignmentId: a.assignmentId, reason: 'worker stopping' });
    if (mode === 'release')
      for (const id of this.inFlight) {
        this.revoked.add(id);
        this.send({ type: 'release', assignmentId: id, reason: 'worker stopping' });
      }
    if (this.busy) await new Promise<void>((r) => this.idleWaiters.push(r));
    // Give the last frames a moment to leave before the close handshake.
    await this.sleep(100);
    this.connection.close(1000, 'worker stopping');
    this.setState('stopped');
  }

  private setState(state: 'running' | 'paused' | 'stopping' | 'stopped') {
    this.emit({ type: 'state', state });
  }

  /** Bytes this worker has sent (results, messages): what the volunteer's uplink gave. */
  get bytesSent() {
    return this.connection.bytesSent;
  }

  /** Bytes of messages received (assignments, acks): downloads too, as far as a bandwidth cap is concerned. */
  get bytesReceived() {
    return this.connection.bytesReceived;
  }

  /** Every byte this worker moved: messages both ways, downloads. */
  private get bytesMoved() {
    return this.bytesSent + this.bytesReceived + this.bytesFetched;
  }

  /** Bytes of data, parameters and models downloaded so far. */
  get bytesFetched() {
    return Object.values(this.runners).reduce((n, r) => n + r.bytesFetched, this.data.bytesFetched);
  }
}
