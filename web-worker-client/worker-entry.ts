/// <reference lib="webworker" />

import * as Comlink from 'comlink';
import type { Backend } from '../kernels/backend';
import { openGpu } from '../kernels/gpu/device';
import type { Capabilities } from '../protocol/messages';
import { type EnrolmentPuzzle, solvePuzzle } from '../protocol/proof-of-work';
import { backendFor } from '../worker/capabilities';
import { EngineChooser, REFERENCE_MODEL } from '../worker/engine-choice';
import { JobPace, type JobProgress } from '../worker/job-pace';
import { type WorkerEvent, WorkerLoop } from '../worker/loop';
import { browserEngines, browserInference } from './engines';
import { idbCache, state } from './idb';

export interface VolunteerStats {
  state: string;
  adapter: string;
  backend: string;
  /** The engine the current job runs on, and its measured speed. */
  engine?: string;
  workerId?: string;
  shardsDone: number;
  samplesDone: number;
  bytesFetched: number;
  bytesSent: number;
  /** The job the last shard was for, who submitted it and why. */
  about?: { job: string; owner: string; description?: string };
  /** How far that job is, and when it should end at the pace seen here. */
  progress?: JobProgress;
  /** Local-step jobs: the inner optimizer's step count, which a reload resumes. */
  innerStep?: number;
  /** The bandwidth cap in bytes per hour, when set. */
  bytesPerHour?: number;
  lastLoss?: number;
  lastEvent?: string;
  /** Why the coordinator stopped this worker for good, in the volunteer's words (a quarantine, an outdated page). */
  stoppedBecause?: string;
}

let loop: WorkerLoop | undefined;
let backend: Backend | undefined;
let capabilities: Capabilities | undefined;
let probing: Promise<void> | undefined;
const stats: VolunteerStats = { state: 'idle', adapter: '', backend: '', shardsDone: 0, samplesDone: 0, bytesFetched: 0, bytesSent: 0 };
let listener: ((s: VolunteerStats) => void) | undefined;

async function openBackend() {
  const host = { kind: 'browser' as const, cores: navigator.hardwareConcurrency || 1, memoryMB: 0 };
  const gpu = await (navigator.gpu ? openGpu(navigator.gpu, (m) => event(`gpu: ${m}`)).catch(() => undefined) : undefined);
  return backendFor(host, gpu, idbCache); // the matmul timing is kept: a reload opens the device without timing it
}

function event(text: string) {
  stats.lastEvent = text;
  listener?.({ ...stats });
}

/** Bytes moved before this page's loop started (kept with the totals), so a reload does not reset what was given. */
const bytesBefore = { fetched: 0, sent: 0 };
const pace = new JobPace();
type Totals = { shardsDone: number; samplesDone: number; bytesFetched?: number; bytesSent?: number };

function onEvent(e: WorkerEvent) {
  if (e.type === 'state') stats.state = e.state;
  if (e.type === 'connected') stats.stoppedBecause = undefined;
  if (e.type === 'disconnected' && e.retryInMs === undefined) stats.stoppedBecause = FAREWELLS[e.code];
  if (e.type === 'assigned' && e.about) {
    const { progress, ...about } = e.about;
    stats.about = about;
    stats.progress = progress && pace.observe(`${e.job}`, progress, Date.now());
  }
  if (e.type === 'engine') stats.engine = `${e.engine} (${e.rates[0].samplesPerSec.toLocaleString()} samples/s)`;
  if (e.type === 'connected') {
    stats.workerId = e.workerId;
    void state.set('workerId', e.workerId);
  }
  if (e.type === 'computed') {
    stats.shardsDone++;
    stats.samplesDone += e.samples;
    stats.lastLoss = e.loss;
    if (e.provider) stats.engine = e.provider;
    stats.innerStep = e.innerStep;
  }
  stats.bytesFetched = bytesBefore.fetched + (loop?.bytesFetched ?? 0) + (loop?.bytesReceived ?? 0);
  stats.bytesSent = bytesBefore.sent + (loop?.bytesSent ?? 0);
  if (e.type === 'computed') {
    const { shardsDone, samplesDone, bytesFetched, bytesSent } = stats;
    void state.set('totals', { shardsDone, samplesDone, bytesFetched, bytesSent } satisfies Totals);
  }
  event(describe(e));
}

/** Closes the worker does not come back from, said to the volunteer; a plain stop (1000) needs no words. */
const FAREWELLS: Record<number, string> = {
  4003:
    'This grid no longer takes work from this volunteer identity: results sent under it were refused as wrong, so every ' +
    'device using it is stopped, this one included. Ask the operator of this grid if you think this is a mistake.',
  1002: 'This page is older than the grid it talks to: reload it to take work again.',
};

/** The event in the volunteer's words. */
function describe(e: WorkerEvent): string {
  if (e.type === 'budget') return `bandwidth cap reached: resuming in ${Math.ceil(e.resumeInMs / 60_000)} min`;
  if (e.type === 'disconnected' && e.retryInMs !== undefined) return `server unreachable, retrying in ${Math.ceil(e.retryInMs / 1000)} s`;
  if (e.type === 'computed') return `computed job ${e.job} round ${e.round} shard ${e.shard}`;
  return e.type;
}

/** The device and its capabilities, opened once per page. */
async function probeOnce() {
  ({ backend, capabilities } = await openBackend());
  stats.adapter = backend.adapter;
  stats.backend = backend.name;
  const totals = await state.get<Totals>('totals');
  Object.assign(stats, totals ?? {});
  bytesBefore.fetched = totals?.bytesFetched ?? 0;
  bytesBefore.sent = totals?.bytesSent ?? 0;
}

/** The volunteer's Web Worker, driven from the page through comlink. */
const api = {
  /** Solve an enrolment puzzle here, off the page's thread; `progress` hears the hashes tried. */
  solvePuzzle(p: EnrolmentPuzzle, progress: (tried: number) => void) {
    return solvePuzzle(p, progress);
  },
  /** Opens the device once: a Start pressed while the page's own probe runs waits for it instead of opening another. */
  async probe() {
    if (!probing) {
      probing = probeOnce();
      probing.catch(() => (probing = undefined)); // a failed probe is tried again by the next caller
    }
    await probing;
    return { ...stats };
  },
  async start(coordinator: string, token: string, bytesPerHour?: number, name = 'volunteer', team?: string) {
    await api.probe();
    if (loop || stats.state === 'timing engines') return; // a second Start while the engines are timed starts nothing
    const engines = browserEngines(capabilities?.backend === 'webgpu' ? backend : undefined);
    stats.state = 'timing engines'; // about 15 s on a first visit: the page says so rather than 'idle'
    event('measuring engines');
    // Timed once per engine and adapter (kept in IndexedDB), and told to the coordinator in hello.
    const rates = await new EngineChooser(engines, idbCache).rank(REFERENCE_MODEL);
    loop = new WorkerLoop({
      coordinator,
      token,
      engines,
      inference: browserInference(capabilities?.backend === 'webgpu'),
      capabilities: { ...capabilities!, engines: rates, ...(bytesPerHour === undefined ? {} : { bytesPerHour }) },
      maxBytesPerHour: bytesPerHour,
      cache: idbCache,
      name,
      team,
      workerId: await state.get<string>('workerId'),
      connect: (url, protocols) => new WebSocket(url, protocols),
      onEvent,
    });
    stats.bytesPerHour = bytesPerHour;
    loop.start();
    stats.state = 'running';
    event('started');
  },
  pause: () => loop?.pause(),
  /** The volunteer's bandwidth cap, bytes per hour (undefined: none). */
  setBandwidth(bytesPerHour: number | undefined) {
    stats.bytesPerHour = bytesPerHour;
    loop?.setMaxBytesPerHour(bytesPerHour);
  },
  throttle: (fraction: number) => {
    if (loop) loop.throttle = Math.min(0.95, Math.max(0, fraction));
  },
  resume: () => loop?.resume(),
  async stop() {
    await loop?.stop('release');
    loop = undefined;
  },
  subscribe(cb: (s: VolunteerStats) => void) {
    listener = cb;
    cb({ ...stats });
  },
  stats: () => ({ ...stats }),
};

export type VolunteerApi = typeof api;
Comlink.expose(api);
