import { CpuBackend } from '../kernels/cpu/backend';
import { kernelsEngine } from '../kernels/engine';
import { buildChunks, type DatasetManifest } from '../protocol/dataset';
import type { Assignment, ServerMessage } from '../protocol/messages';
import { type MlpSpec, parameterCount } from '../protocol/model';
import { fullParams } from '../protocol/params-delta';
import { type Clock, memoryCache, type SocketLike, sha256Hex } from './host';
import type { WorkerEvent, WorkerOptions } from './options';

/** Timers that run only when a test advances them. */
export class ManualClock implements Clock {
  private t = 0;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void; every?: number }>();
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => this.add(fn, ms);
  setInterval = (fn: () => void, ms: number) => this.add(fn, ms, ms);
  clearTimeout = (h: unknown) => void this.timers.delete(h as number);
  clearInterval = (h: unknown) => void this.timers.delete(h as number);

  private add(fn: () => void, ms: number, every?: number) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn, every });
    return id;
  }

  /** Move time on by `ms`, running every timer that falls due, in order. */
  async advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [id, timer] = due;
      this.t = timer.at;
      if (timer.every) timer.at += timer.every;
      else this.timers.delete(id);
      timer.fn();
      await settled();
    }
    this.t = end;
  }
}

/** Let pending promise callbacks run. */
export const settled = () => new Promise((r) => setTimeout(r, 0));

/** A socket the test plays the coordinator on: it records what the worker sends and delivers what the test says. */
export class ScriptedSocket implements SocketLike {
  binaryType = 'blob';
  readyState = 0;
  readonly sent: (string | Uint8Array)[] = [];
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;

  constructor(readonly url: string) {}

  send(data: string | ArrayBufferView | ArrayBuffer) {
    this.sent.push(typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer));
  }
  close(code = 1000, reason = '') {
    this.drop(code, reason);
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  deliver(msg: ServerMessage) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  /** Deliver a binary frame, as the coordinator pushes parameters. */
  push(frame: Uint8Array) {
    this.onmessage?.({ data: frame.slice().buffer });
  }
  drop(code: number, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  /** The JSON messages sent, parsed. */
  messages(): { type: string; [k: string]: unknown }[] {
    return this.sent.filter((d): d is string => typeof d === 'string').map((d) => JSON.parse(d));
  }
  frames(): Uint8Array[] {
    return this.sent.filter((d): d is Uint8Array => typeof d !== 'string');
  }
}

export const MODEL: MlpSpec = { kind: 'mlp', layers: [3, 4, 2] };

/** A toy data set of 8 samples, served with its manifest and the parameters of job 1 version 0. */
export async function toyCoordinator() {
  const labels = Uint8Array.from({ length: 8 }, (_, i) => i % 2);
  const features = Float32Array.from({ length: 24 }, (_, i) => (i % 5) / 5);
  const [chunk] = buildChunks(labels, features, 3);
  const manifest: DatasetManifest = {
    ...{ name: 'toy', split: 'train', samples: 8, featureShape: [3], featureDtype: 'f32', featureScale: 1, classes: 2, chunkSize: 4096 },
    chunks: [{ index: 0, samples: 8, bytes: chunk.byteLength, sha256: await sha256Hex(chunk) }],
  };
  const params = fullParams(new Float32Array(parameterCount(MODEL)).fill(0.1), 1, 0);
  const requests: string[] = [];
  let gate: Promise<void> = Promise.resolve();
  const fetch = async (url: string) => {
    requests.push(url);
    await gate;
    const body = url.includes('/chunks/') ? chunk : url.includes('/params') ? params : new TextEncoder().encode(JSON.stringify(manifest));
    const ok = !url.includes('fail');
    return {
      ok,
      status: ok ? 200 : 500,
      arrayBuffer: async () => body.slice().buffer,
      json: async () => manifest,
      text: async () => new TextDecoder().decode(body),
    };
  };
  /** Hold every download until the returned function is called. */
  const hold = () => {
    let release = () => {};
    gate = new Promise((r) => (release = r));
    return release;
  };
  return { fetch: fetch as unknown as WorkerOptions['fetch'], requests, hold, chunkBytes: chunk.byteLength, paramsBytes: params.byteLength, params };
}

export const assignment = (id: number, over: Partial<Assignment> = {}): Assignment => ({
  type: 'assign',
  assignmentId: id,
  jobId: 1,
  round: 0,
  shard: 0,
  model: MODEL,
  paramsVersion: 0,
  paramsUrl: '/api/jobs/1/params?version=0',
  data: { dataset: 'toy', split: 'train', seed: 1, cursor: 0, count: 4 },
  task: { mode: 'sync', steps: 1, batch: 4, lr: 0, encoding: 'fp32' },
  ...over,
});

/** Worker options on the CPU engine, a scripted socket per connection and a manual clock. */
export function scriptedWorker(fetch: WorkerOptions['fetch'], over: Partial<WorkerOptions> = {}) {
  const sockets: ScriptedSocket[] = [];
  const clock = new ManualClock();
  const events: WorkerEvent[] = [];
  const options: WorkerOptions = {
    coordinator: 'http://coord-a',
    token: 'token',
    engines: [kernelsEngine(new CpuBackend())],
    capabilities: { kind: 'native', backend: 'cpu', cores: 1, memoryMB: 0 },
    connect: (url) => {
      const s = new ScriptedSocket(url);
      sockets.push(s);
      return s;
    },
    cache: memoryCache(),
    fetch,
    clock,
    onEvent: (e) => events.push(e),
    ...over,
  };
  return { options, sockets, clock, events };
}
