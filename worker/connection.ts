import { type ClientMessage, PROTOCOL_VERSION, parseServerMessage, type ServerMessage, workerProtocols } from '../protocol/messages';
import type { Clock, SocketLike } from './host';
import type { WorkerOptions } from './options';

const HEARTBEAT_MS = 5000;
/** Closes that reconnecting cannot fix: an unsupported protocol (1002), a quarantined worker (4003). */
const TERMINAL_CLOSES = [1002, 4003];

export interface ConnectionEvents {
  /** About to connect to `base` (the next coordinator in turn after a failure). */
  connecting(base: string): void;
  message(msg: ServerMessage): void;
  /** A binary frame the coordinator pushed (the parameters of the version the next assignment needs). */
  frame(bytes: Uint8Array): void;
  badMessage(error: unknown): void;
  /** The socket closed; `retryInMs` when it will reconnect, undefined when it stops for good. */
  closed(code: number, reason: string, retryInMs?: number): void;
}

/**
 * The worker's socket to its coordinators: hello on open, parsed messages in, counted bytes out, a heartbeat,
 * and reconnection with exponential backoff and jitter, trying each coordinator in turn.
 */
export class Connection {
  private socket?: SocketLike;
  private heartbeat?: unknown;
  private attempt = 0;
  private stopping = false;
  /** Bytes sent (results, messages): what the volunteer's uplink gave. */
  bytesSent = 0;
  /** Bytes of messages received (assignments, acks, pushed parameters). */
  bytesReceived = 0;

  constructor(
    private readonly o: Pick<WorkerOptions, 'token' | 'connect' | 'backoff' | 'name' | 'team' | 'capabilities'>,
    private readonly coordinators: string[],
    private readonly clock: Clock,
    private readonly events: ConnectionEvents,
    private readonly hello: () => string | undefined,
  ) {}

  open() {
    this.stopping = false;
    const base = this.coordinators[this.attempt % this.coordinators.length];
    this.events.connecting(base);
    const ws = this.o.connect(`${base.replace(/^http/, 'ws')}/ws`, workerProtocols(this.o.token));
    this.socket = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      this.send({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        name: this.o.name,
        team: this.o.team || undefined,
        workerId: this.hello(),
        capabilities: this.o.capabilities,
      });
    };
    ws.onmessage = (ev) => {
      if (ev.data instanceof ArrayBuffer) {
        this.bytesReceived += ev.data.byteLength;
        return this.events.frame(new Uint8Array(ev.data));
      }
      if (typeof ev.data !== 'string') return;
      this.bytesReceived += ev.data.length;
      let msg: ServerMessage;
      try {
        msg = parseServerMessage(ev.data);
      } catch (e) {
        return this.events.badMessage(e);
      }
      this.events.message(msg);
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      this.clock.clearInterval(this.heartbeat);
      if (this.socket !== ws) return;
      this.socket = undefined;
      if (this.stopping || TERMINAL_CLOSES.includes(ev.code)) return this.events.closed(ev.code, ev.reason);
      const { baseMs, maxMs } = this.o.backoff ?? { baseMs: 500, maxMs: 30_000 };
      const delay = Math.min(maxMs, baseMs * 2 ** this.attempt++) * (0.5 + Math.random());
      this.events.closed(ev.code, ev.reason, Math.round(delay));
      this.clock.setTimeout(() => !this.stopping && this.open(), delay);
    };
  }

  /** The coordinator welcomed us: backoff starts over, and the heartbeat runs at its pace or ours. */
  welcomed(heartbeatMs: number) {
    this.attempt = 0;
    this.clock.clearInterval(this.heartbeat);
    this.heartbeat = this.clock.setInterval(() => this.send({ type: 'heartbeat', t: Date.now() }), Math.min(HEARTBEAT_MS, heartbeatMs));
  }

  send(msg: ClientMessage | Uint8Array): boolean {
    if (this.socket?.readyState !== 1) return false;
    const data = msg instanceof Uint8Array ? msg : JSON.stringify(msg);
    this.socket.send(data);
    this.bytesSent += typeof data === 'string' ? data.length : data.byteLength; // messages are ASCII JSON
    return true;
  }

  /** Close for good (no reconnect). */
  close(code: number, reason: string) {
    this.stopping = true;
    this.clock.clearInterval(this.heartbeat);
    this.socket?.close(code, reason);
    this.socket = undefined;
  }

  /** Stop reconnecting; the socket stays open until close(). */
  stop() {
    this.stopping = true;
  }
}
