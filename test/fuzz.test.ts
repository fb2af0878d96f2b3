import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startCoordinator } from '../coordinator/server';
import { encodeTensor } from '../protocol/frames';
import { PROTOCOL_VERSION, workerProtocols } from '../protocol/messages';
import { api, mlpJob, tempDir } from './helpers';
import { runHonestWorkerUntilDone } from './raw-client';

const TARGET = 100_000;
const LANES = 24;

/** Deterministic randomness, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** One fuzzed frame: random bytes, a mutated tensor frame, random JSON, or a valid message with mutated fields. */
function fuzzFrame(rand: () => number): string | Uint8Array {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const weird = () =>
    pick<unknown>([null, -1, 0, 1e308, -1e308, 'x'.repeat(Math.floor(rand() * 300)), [], {}, true, 2 ** 53, Number.NaN, '∞', { type: 'hello' }]);
  const kind = Math.floor(rand() * 5);
  if (kind === 0) return Uint8Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256));
  if (kind === 1) {
    const frame = encodeTensor(
      { kind: pick(['gradient', 'delta', 'params'] as const), job: 1, round: 0, shard: 0 },
      new Float32Array(Math.floor(rand() * 64)),
      pick(['f32', 'f16', 'int8'] as const),
    );
    const out = rand() < 0.3 ? frame.subarray(0, Math.floor(rand() * frame.length)) : frame.slice();
    for (let i = 0; i < 1 + rand() * 6; i++) out[Math.floor(rand() * out.length)] = Math.floor(rand() * 256);
    return out;
  }
  if (kind === 2) return Array.from({ length: Math.floor(rand() * 80) }, () => String.fromCharCode(32 + Math.floor(rand() * 95))).join('');
  const base: Record<string, unknown> = pick([
    { type: 'hello', protocol: PROTOCOL_VERSION, capabilities: { kind: 'native', backend: 'cpu', cores: 1, memoryMB: 1 } },
    { type: 'ready', slots: 1 },
    { type: 'heartbeat', t: 1 },
    { type: 'result', assignmentId: 1, paramsVersion: 0, samples: 64, loss: 1 },
    { type: 'release', assignmentId: 1, reason: 'x' },
  ]);
  const keys = [...Object.keys(base), 'extra', '__proto__', 'constructor'];
  for (let i = 0; i < 1 + rand() * 3; i++) base[pick(keys)] = weird();
  return JSON.stringify(base);
}

// ≥ 100,000 random and mutated frames over many sockets: the coordinator never crashes, its tables stay bounded,
// and an honest worker's job completes meanwhile.
describe('fuzzing the worker socket', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let url: string;
  const token = 'gt_fuzz_operator';

  beforeAll(async () => {
    const dir = tempDir('grid-fuzz-');
    coord = await startCoordinator({
      ...{ port: 0, host: '127.0.0.1', databaseUrl: ':memory:', dataDir: dir, webDir: join(dir, 'web'), enrolment: true, operatorToken: token },
      ...{ maxFrameBytes: 1 << 20, maxBodyBytes: 1 << 20, heartbeatMs: 5000, log: { debug() {}, info() {}, warn() {}, error() {} } },
      limits: { maxSocketsPerToken: 1000 },
    });
    url = `http://127.0.0.1:${coord.port}`;
  });
  afterAll(() => coord?.close());

  const received = async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return [...text.matchAll(/^grid_ws_messages_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };

  it(`survives ${TARGET} fuzzed frames while an honest worker finishes its job`, async () => {
    const fuzzers = await Promise.all(
      Array.from({ length: 4 }, (_, i) => api<{ token: string }>(url, token, '/api/tokens', { name: `fuzz${i}`, scopes: ['worker'], ratePerMin: 1_000_000 })),
    );
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', mlpJob({ rounds: 5, globalBatch: 128, shardSize: 64 }));
    const honest = runHonestWorkerUntilDone(url, token, id, 240_000);
    const rssBefore = process.memoryUsage().rss;
    let sockets = 0;
    const lane = async (seed: number) => {
      const rand = rng(seed);
      while ((await received()) < TARGET) {
        const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, workerProtocols(fuzzers[seed % fuzzers.length].token));
        sockets++;
        const closed = new Promise<void>((r) => ws.once('close', () => r()));
        ws.on('error', () => {});
        await new Promise<void>((r) => {
          ws.once('open', () => r());
          ws.once('close', () => r());
        });
        for (let i = 0; i < 40 && ws.readyState === ws.OPEN; i++) ws.send(fuzzFrame(rand));
        ws.close();
        await closed;
      }
    };
    await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i + 1)));
    const frames = await received();
    const job = await honest;
    const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    const health = (await (await fetch(`${url}/health`)).json()) as { ok: boolean };
    console.log(
      `fuzz: ${frames} frames received over ${sockets} sockets; honest job at round ${job.round}; rss growth ${rssGrowthMb.toFixed(0)} MB; health ${JSON.stringify(health)}`,
    );
    expect(frames).toBeGreaterThanOrEqual(TARGET);
    expect(job.round).toBe(5);
    expect(health.ok).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(coord.scheduler.workerCount).toBe(0); // every fuzzing connection's registration is gone
    expect(coord.scheduler.leaseCount).toBeLessThan(50);
    expect(coord.auth.footprint.buckets).toBeLessThan(100);
    expect(rssGrowthMb).toBeLessThan(400); // client and server share this process; generous, but not unbounded
  }, 300_000);
});
