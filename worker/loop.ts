import type { ErrorCode } from '../protocol/errors';
import { encodeTensor } from '../protocol/frames';
import {
  type Assignment,
  type ClientMessage,
  type InferAssignment,
  PROTOCOL_VERSION,
  parseServerMessage,
  type ServerMessage,
  workerProtocols,
} from '../protocol/messages';
import { KEEPALIVE_BYTES, shardCost, TransferBudget } from './budget';
import { DataClient } from './data';
import type { SocketLike } from './host';
import { InferenceRunner } from './inference';
import type { WorkerEvent, WorkerOptions } from './options';
import { type ComputedShard, TrainingRunner } from './train-task';

export type { WorkerEvent, WorkerOptions };

const HEARTBEAT_MS = 5000;
/** Closes that reconnecting cannot fix: an unsupported protocol (1002), a quarantined worker (4003). */
const TERMINAL_CLOSES = [1002, 4003];

/**
 * The worker loop, shared by the browser Web Worker and the native worker: connect, say hello, take assignments,
 * fetch (or reuse) verified data, compute with the kernels, send results as binary frames, heartbeat, honour
 * pause/resume/stop and reconnect with exponential backoff and jitter. GPU, socket and storage are injected.
 */
export class WorkerLoop {
  private socket?: SocketLike;
  private readonly data: DataClient;
  private readonly coordinators: string[];
  private readonly training: TrainingRunner;
  private readonly inference: InferenceRunner;
  /** The bandwidth cap, when the volunteer set one; `budgetWait` is set while the loop waits for room in it. */
  private budget?: TransferBudget;
  private budgetWait?: ReturnType<typeof setTimeout>;
  private readonly queue: (Assignment | InferAssignment)[] = [];
  private readonly revoked = new Set<number>();
  private readonly inFlight = new Set<number>();
  private heartbeat?: ReturnType<typeof setInterval>;
  private attempt = 0;
  private paused = false;
  private stopping = false;
  private busy = false;
  private idleWaiters: (() => void)[] = [];
  /** Fraction of wall time to stay idle (0 = flat out); volunteers turn this up to keep their machine cool. */
  throttle = 0;
  private failures = 0;
  workerId?: string;
  shardsDone = 0;
  /** Bytes this worker has sent (results, messages): what the volunteer's uplink gave. */
  bytesSent = 0;
  /** Bytes of messages received (assignments, acks): downloads too, as far as a bandwidth cap is concerned. */
  bytesReceived = 0;
  samplesDone = 0;

  constructor(private readonly o: WorkerOptions) {
    this.workerId = o.workerId;
    this.coordinators = (Array.isArray(o.coordinator) ? o.coordinator : [o.coordinator]).map((u) => u.replace(/\/$/, ''));
    this.data = new DataClient(this.coordinators[0], o.token, o.cache, o.fetch);
    this.training = new TrainingRunner(
      o.engines,
      o.cache,
      this.data,
      (job, rates) => this.emit({ type: 'engine', job, engine: rates[0].engine, rates }),
      o.measureMs,
    );
    this.inference = new InferenceRunner(
      o.inference ?? [],
      o.cache,
      this.data,
      (sha256) => this.data.model(sha256),
      (sha256) => this.data.modelSize(sha256),
    );
    this.setMaxBytesPerHour(o.maxBytesPerHour);
  }

  private emit(e: WorkerEvent) {
    this.o.onEvent?.(e);
  }

  start() {
    this.stopping = false;
    this.connect();
  }

  private connect() {
    const base = this.coordinators[this.attempt % this.coordinators.length];
    this.data.base = base;
    const ws = this.o.connect(`${base.replace(/^http/, 'ws')}/ws`, workerProtocols(this.o.token));
    this.socket = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      this.send({ type: 'hello', protocol: PROTOCOL_VERSION, name: this.o.name, workerId: this.workerId, capabilities: this.o.capabilities });
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      this.bytesReceived += ev.data.length;
      let msg: ServerMessage;
      try {
        msg = parseServerMessage(ev.data);
      } catch (e) {
        this.emit({ type: 'refused', code: 'BAD_MESSAGE', message: String(e) });
        return;
      }
      void this.onMessage(msg);
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      clearInterval(this.heartbeat);
      if (this.socket !== ws) return;
      this.socket = undefined;
      // Leases die with the connection: whatever is queued or computing is given up, the coordinator reassigns it.
      for (const a of this.queue.splice(0)) this.revoked.add(a.assignmentId);
      for (const id of this.inFlight) this.revoked.add(id);
      if (this.stopping || TERMINAL_CLOSES.includes(ev.code)) {
        this.emit({ type: 'disconnected', code: ev.code, reason: ev.reason });
        this.setState('stopped');
        return;
      }
      const { baseMs, maxMs } = this.o.backoff ?? { baseMs: 500, maxMs: 30_000 };
      const delay = Math.min(maxMs, baseMs * 2 ** this.attempt++) * (0.5 + Math.random());
      this.emit({ type: 'disconnected', code: ev.code, reason: ev.reason, retryInMs: Math.round(delay) });
      setTimeout(() => !this.stopping && this.connect(), delay);
    };
  }

  private send(msg: ClientMessage | Uint8Array) {
    if (this.socket?.readyState !== 1) return false;
    const data = msg instanceof Uint8Array ? msg : JSON.stringify(msg);
    this.socket.send(data);
    this.bytesSent += typeof data === 'string' ? data.length : data.byteLength; // messages are ASCII JSON
    return true;
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
  private async affordable(a: Assignment | InferAssignment): Promise<boolean> {
    if (!this.budget) return true;
    this.budget.recordTotal(this.bytesMoved);
    const cost = (await shardCost(a, this.data, this.training, this.inference)) + KEEPALIVE_BYTES;
    if (this.budget.fits(cost)) return true;
    this.send({ type: 'release', assignmentId: a.assignmentId, reason: `bandwidth cap: ${cost} bytes do not fit the hour's remaining budget` });
    const wait = Math.min(this.budget.msUntilFits(cost), 3_600_000);
    this.emit({ type: 'budget', usedBytes: this.budget.used(), bytesPerHour: this.budget.bytesPerHour, resumeInMs: wait });
    if (!this.budgetWait) {
      this.budgetWait = setTimeout(() => {
        this.budgetWait = undefined;
        this.send({ type: 'ready', slots: this.slots() });
      }, wait);
      this.send({ type: 'ready', slots: 0 });
    }
    return false;
  }

  private async onMessage(msg: ServerMessage) {
    switch (msg.type) {
      case 'welcome':
        this.attempt = 0;
        this.workerId = msg.workerId;
        this.data.workerId = msg.workerId;
        this.emit({ type: 'connected', workerId: msg.workerId });
        this.heartbeat = setInterval(() => this.send({ type: 'heartbeat', t: Date.now() }), Math.min(HEARTBEAT_MS, msg.heartbeatMs));
        this.send({ type: 'ready', slots: this.slots() });
        return;
      case 'assign':
      case 'infer':
        this.queue.push(msg);
        this.emit({
          type: 'assigned',
          job: msg.jobId,
          round: msg.type === 'assign' ? msg.round : 0,
          shard: msg.shard,
          samples: msg.data.count,
          about: msg.about,
        });
        return this.drain();
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

  /** Run queued assignments one at a time; the GPU is shared, so parallel shards would only contend. */
  private async drain() {
    if (this.busy) return;
    this.busy = true;
    try {
      for (let a = this.queue.shift(); a; a = this.queue.shift()) {
        if (this.revoked.delete(a.assignmentId)) continue;
        if (!(await this.affordable(a))) continue;
        this.inFlight.add(a.assignmentId);
        try {
          const t0 = performance.now();
          await this.compute(a);
          const idle = this.throttle > 0 ? ((performance.now() - t0) * this.throttle) / (1 - this.throttle) : 0;
          this.failures = 0;
          if (idle > 0) await new Promise((r) => setTimeout(r, Math.min(idle, 60_000)));
        } catch (e) {
          this.emit({ type: 'refused', code: 'WORKER_ERROR' satisfies ErrorCode, message: String((e as Error)?.message ?? e), assignmentId: a.assignmentId });
          this.send({ type: 'release', assignmentId: a.assignmentId, reason: String((e as Error)?.message ?? e).slice(0, 200) });
          // Back off before taking more work, or a broken worker would spin on re-leased shards.
          await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** this.failures++)));
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

  /** With `slowdown` k, wait until the shard has taken k times what its computation took (a slow volunteer). */
  private async slowDown(t0: number) {
    const k = this.o.slowdown ?? 1;
    if (k > 1) await new Promise((r) => setTimeout(r, (performance.now() - t0) * (k - 1)));
  }

  /** An inference shard's kept outputs, as one `output` frame with the provider that ran it. */
  private async infer(a: InferAssignment): Promise<ComputedShard> {
    const { values, provider } = await this.inference.run(a);
    const frame = () => encodeTensor({ kind: 'output', job: a.jobId, round: 0, shard: a.shard }, values, a.dtype);
    return { samples: a.data.count, loss: 0, paramsVersion: 0, provider, frame };
  }

  /** Compute a shard (training or inference) and send its result, unless its lease ended meanwhile. */
  private async compute(a: Assignment | InferAssignment) {
    const t0 = performance.now();
    const done = a.type === 'infer' ? await this.infer(a) : await this.training.run(a);
    await this.slowDown(t0);
    if (this.revoked.has(a.assignmentId)) {
      this.emit({ type: 'dropped', assignmentId: a.assignmentId, reason: 'lease ended while computing' });
      return;
    }
    const frame = done.frame();
    const { samples, loss, correct, paramsVersion, provider, innerStep } = done;
    this.send({ type: 'result', assignmentId: a.assignmentId, paramsVersion, samples, loss, correct, provider });
    this.send(frame);
    this.shardsDone++;
    this.samplesDone += samples;
    const round = a.type === 'assign' ? a.round : 0;
    const ms = performance.now() - t0;
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
    this.setState('stopping');
    this.send({ type: 'ready', slots: 0 });
    for (const a of this.queue.splice(0)) this.send({ type: 'release', assignmentId: a.assignmentId, reason: 'worker stopping' });
    if (mode === 'release')
      for (const id of this.inFlight) {
        this.revoked.add(id);
        this.send({ type: 'release', assignmentId: id, reason: 'worker stopping' });
      }
    if (this.busy) await new Promise<void>((r) => this.idleWaiters.push(r));
    clearInterval(this.heartbeat);
    // Give the last frames a moment to leave before the close handshake.
    await new Promise((r) => setTimeout(r, 100));
    this.socket?.close(1000, 'worker stopping');
    this.socket = undefined;
    this.setState('stopped');
  }

  private setState(state: 'running' | 'paused' | 'stopping' | 'stopped') {
    this.emit({ type: 'state', state });
  }

  /** Every byte this worker moved: messages both ways, downloads. */
  private get bytesMoved() {
    return this.bytesSent + this.bytesReceived + this.bytesFetched;
  }

  /** Bytes of data, parameters and models downloaded so far. */
  get bytesFetched() {
    return this.data.bytesFetched + this.inference.bytesFetched;
  }
}
