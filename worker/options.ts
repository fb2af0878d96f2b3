import type { Engine } from '../kernels/engine';
import type { InferenceEngine } from '../kernels/onnx/session';
import type { About, Capabilities } from '../protocol/messages';
import type { EngineRate } from './engine-choice';
import type { ByteCache, Clock, SocketLike } from './host';

export interface WorkerOptions {
  /** Base URL of the coordinator, or several: after a disconnect the loop tries the next one. */
  coordinator: string | string[];
  token: string;
  /** The engines this machine has; each job's model runs on the fastest of them, by measurement. */
  engines: Engine[];
  /** Engines that run registered ONNX models (inference jobs); without any, the worker takes no inference shards. */
  inference?: InferenceEngine[];
  /** How long each engine is timed on a new model when there is a choice (default 2 s). */
  measureMs?: number;
  capabilities: Capabilities;
  /** Open a WebSocket to `url` offering `protocols` (one of them carries the token). */
  connect: (url: string, protocols: string[]) => SocketLike;
  cache: ByteCache;
  name?: string;
  /** The team its credit also counts for. */
  team?: string;
  /** Reused across reconnects (and reloads, where the host persists it) so the coordinator knows this worker. */
  workerId?: string;
  concurrency?: number;
  fetch?: (url: string, init?: RequestInit) => Promise<Response>;
  onEvent?: (e: WorkerEvent) => void;
  /** The volunteer's cap on bytes up and down over any hour; shards that would break it are handed back. */
  maxBytesPerHour?: number;
  /** Tests and benches: every shard takes this many times as long as it computed (a slow volunteer). */
  slowdown?: number;
  /** Backoff: base and cap in ms. */
  backoff?: { baseMs: number; maxMs: number };
  /** Timers and time (tests script them); the host's own by default. */
  clock?: Clock;
}

export type WorkerEvent =
  | { type: 'connected'; workerId: string }
  | { type: 'disconnected'; code: number; reason: string; retryInMs?: number }
  | { type: 'assigned'; job: number; round: number; shard: number; samples: number; about?: About }
  | { type: 'engine'; job: number; engine: string; rates: EngineRate[] }
  | ({ type: 'computed'; job: number; round: number; shard: number; samples: number; loss: number } & ShardFigures)
  | { type: 'accepted'; assignmentId: number }
  | { type: 'refused'; code: string; message: string; assignmentId?: number }
  | { type: 'dropped'; assignmentId: number; reason: string }
  | { type: 'state'; state: 'running' | 'paused' | 'stopping' | 'stopped' }
  | { type: 'budget'; usedBytes: number; bytesPerHour: number; resumeInMs: number };

/** What a computed shard took: time, result bytes, the provider that ran it, the inner optimizer's step. */
export interface ShardFigures {
  ms: number;
  bytes: number;
  provider?: string;
  innerStep?: number;
}
