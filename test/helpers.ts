import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import type { Page } from 'puppeteer-core';
import WebSocket from 'ws';
import type { CoordinatorConfig } from '../coordinator/config';
import { startCoordinator } from '../coordinator/server';
import { onnxEngine } from '../kernels/onnx/engine';
import type { TrainingSpec } from '../protocol/job';
import { memoryCache } from '../worker/host';
import { WorkerLoop, type WorkerOptions } from '../worker/loop';

const ROOT = resolve(import.meta.dirname, '..');
const TSX = ['--import', 'tsx'];

import { everyMetric } from '../protocol/metric-pages';
import { tempDir } from './temp-dirs';

export { removeTempDirs, tempDir } from './temp-dirs';

export interface Proc {
  child: ChildProcess;
  output: string[];
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

/** Spawn a Node process running TypeScript and keep every output line for assertions. */
export function spawnTs(script: string, args: string[] = [], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [...TSX, join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const listeners = new Set<() => void>();
  for (const stream of [child.stdout!, child.stderr!])
    stream.on('data', (d: Buffer) => {
      output.push(...d.toString().split('\n').filter(Boolean));
      for (const l of listeners) l();
    });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    output,
    exited,
    waitFor(re, timeoutMs = 60_000) {
      return new Promise((res, rej) => {
        const check = () => {
          const line = output.find((l) => re.test(l));
          if (line) {
            listeners.delete(check);
            clearTimeout(timer);
            res(line);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          rej(new Error(`timed out waiting for ${re}; last output:\n${output.slice(-15).join('\n')}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
  };
}

export async function startCoordinatorProcess(dataDir: string, port = 0, env: Record<string, string> = {}) {
  const p = spawnTs('coordinator/main.ts', [], { GRID_DATA_DIR: dataDir, PORT: String(port), GRID_WEB_DIR: join(dataDir, 'no-web'), ...env });
  const line = await p.waitFor(/coordinator listening/);
  const actualPort = JSON.parse(line).port as number;
  const token = env.GRID_OPERATOR_TOKEN ?? readFileSync(join(dataDir, 'operator-token'), 'utf8').trim();
  return { ...p, port: actualPort, token, url: `http://127.0.0.1:${actualPort}` };
}

export function startWorker(url: string, token: string, name: string, backend = 'cpu', extra: string[] = []) {
  return spawnTs('native-worker/cli.ts', [
    ...extra,
    '--coordinator',
    url,
    '--token',
    token,
    '--backend',
    backend,
    '--name',
    name,
    '--cache-dir',
    tempDir('grid-cache-'),
    '--measure-ms',
    '300',
  ]);
}

/** Every metric point of job `id`, page by page (a long run has more than one page). */
export const jobMetrics = (url: string, token: string, id: number) =>
  everyMetric((since) => api<{ id: number; round: number; name: string; value: number; at: number }[]>(url, token, `/api/jobs/${id}/metrics?since=${since}`));

export async function api<T = unknown>(url: string, token: string, path: string, body?: unknown, method = body ? 'POST' : 'GET'): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Polls `probe` until it gives something truthy; `what` may be a function, to say on a timeout what was last seen. */
export async function waitUntil<T>(what: string | (() => string), probe: () => Promise<T | undefined | false>, timeoutMs = 120_000, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const mlpJob = (over: Partial<Record<keyof TrainingSpec, unknown>> = {}) => ({
  name: 'test-mlp',
  model: { kind: 'mlp', layers: [784, 64, 10] },
  dataset: { name: 'fashion-mnist', split: 'train', evalSplit: 'test' },
  optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9 },
  globalBatch: 256,
  shardSize: 64,
  rounds: 10,
  checkpointEvery: 5,
  leaseMs: 10_000,
  ...over,
});

/** A coordinator in this process on a fresh SQLite file in `dir`, quiet but for errors; `over` changes any setting. */
export function startTestCoordinator(dir: string, token: string, over: Partial<CoordinatorConfig> = {}) {
  return startCoordinator({
    ...{ port: 0, host: '127.0.0.1', databaseUrl: `sqlite:${join(dir, 'grid.db')}`, dataDir: dir, webDir: join(dir, 'web'), enrolment: false },
    ...{ operatorToken: token, maxFrameBytes: 64 << 20, maxBodyBytes: 16 << 20, heartbeatMs: 5000 },
    log: { debug() {}, info() {}, warn() {}, error: console.error },
    ...over,
  });
}

/** One in-process worker on onnxruntime-node trains job `id` until it is done; then it stops. */
export async function trainOnOrtNode(url: string, token: string, id: number, over: Partial<WorkerOptions> = {}, timeoutMs = 150_000) {
  const loop = new WorkerLoop({
    ...{ coordinator: url, token, cache: memoryCache(), connect: (u, p) => new WebSocket(u, p) },
    engines: [onnxEngine(ortNode, 'cpu', 'ort-node', 'onnxruntime-node cpu')],
    capabilities: { kind: 'native', backend: 'cpu', cores: 2, memoryMB: 1000 },
    ...over,
  });
  loop.start();
  try {
    await waitUntil('job done', async () => (await api<{ state: string }>(url, token, `/api/jobs/${id}`)).state === 'done', timeoutMs);
  } finally {
    await loop.stop('release');
  }
}

/** A native worker on onnxruntime-node, twice as slow as it computes: beside a browser volunteer, both get shards. */
export const slowOrtNodeWorker = (url: string, token: string) =>
  new WorkerLoop({
    ...{ coordinator: url, token, cache: memoryCache(), connect: (u, p) => new WebSocket(u, p), name: 'native', slowdown: 2 },
    engines: [onnxEngine(ortNode, 'cpu', 'ort-node', 'onnxruntime-node cpu')],
    capabilities: { kind: 'native', backend: 'cpu', cores: 2, memoryMB: 1000 },
  });

/** Open the volunteer page, consent, and wait until the coordinator lists the browser (it times its engines first). */
export async function volunteerJoins(page: Page, url: string, token: string) {
  await page.goto(url);
  await (await page.waitForSelector('pierce/#contribute', { timeout: 60_000 }))?.click();
  await waitUntil('volunteer joined', async () => (await api<{ kind: string }[]>(url, token, '/api/workers')).some((w) => w.kind === 'browser'), 120_000, 500);
}
