import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import WebSocket from 'ws';
import { startCoordinator } from '../coordinator/server';
import { CpuBackend } from '../kernels/cpu/backend';
import { type Engine, kernelsEngine } from '../kernels/engine';
import { memoryCache } from '../worker/host';
import { WorkerLoop } from '../worker/loop';
import { api, jobMetrics, tempDir, waitUntil } from './helpers';

const caps = { kind: 'native' as const, backend: 'cpu' as const, cores: 1, memoryMB: 1000 };

/** When hostile workers join: with the honest ones, before them (alone at first), or after some honest rounds. */
export type Timing = 'with' | 'first' | 'after';

/**
 * A coordinator for a describe block of the fault matrix (started before its tests, closed after), and `run`: one
 * job with two honest workers (the operator's own machines) and `hostile` ones, each on a volunteer token of its own
 * (so several are sybils: identities that cost nothing); returns its final test accuracy and ledger.
 */
export function faultMatrixRig() {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let url: string;
  const token = 'gt_matrix_operator';

  beforeAll(async () => {
    const dir = tempDir('grid-matrix-');
    coord = await startCoordinator({
      ...{ port: 0, host: '127.0.0.1', databaseUrl: ':memory:', dataDir: dir, webDir: join(dir, 'web'), enrolment: true, operatorToken: token },
      ...{
        maxFrameBytes: 1 << 22,
        maxBodyBytes: 1 << 20,
        heartbeatMs: 5000,
        log: {
          debug() {},
          info() {},
          warn: (m: string, f?: object) => console.log('WARN', m, JSON.stringify(f)),
          error: (m: string, f?: object) => console.log('ERR', m, JSON.stringify(f)),
        },
      },
    });
    url = `http://127.0.0.1:${coord.port}`;
  });
  afterAll(() => coord?.close());

  const worker = (engine: Engine, workerToken: string) =>
    new WorkerLoop({
      coordinator: url,
      token: workerToken,
      engines: [engine],
      capabilities: caps,
      cache: memoryCache(),
      connect: (u, p) => new WebSocket(u, p),
    });

  /** A hostile CPU backend (hostile-backend.ts) or a whole hostile engine. */
  const engineOf = (h: CpuBackend | Engine) => (h instanceof CpuBackend ? kernelsEngine(h) : h);

  async function run(hostile: CpuBackend | Engine | (CpuBackend | Engine)[], spec: object, timing: Timing = 'with') {
    const volunteers = [hostile].flat().map(async (h) => {
      const { token: volunteer } = await api<{ token: string }>(url, token, '/api/tokens', { name: 'volunteer', scopes: ['worker'] });
      return worker(engineOf(h), volunteer);
    });
    const outsiders = await Promise.all(volunteers);
    const honest = [worker(kernelsEngine(new CpuBackend()), token), worker(kernelsEngine(new CpuBackend()), token)];
    const loops = [...honest, ...outsiders];
    if (timing !== 'after') for (const l of outsiders) l.start();
    if (timing !== 'first') for (const l of honest) l.start();
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', spec);
    const round = () => coord.scheduler.status(id)?.round ?? 0;
    try {
      if (timing === 'first') {
        // Alone, the hostile workers compute what they are given until their evidence stops them.
        await waitUntil('hostile results', async () => (await coord.store.results(id)).length >= 6, 20_000).catch(() => {});
        for (const l of honest) l.start();
      }
      if (timing === 'after') {
        await waitUntil('five honest rounds', async () => round() >= 5, 60_000);
        for (const l of outsiders) l.start();
      }
      const ended = async () => {
        const job = await api<{ state: string; error?: string }>(url, token, `/api/jobs/${id}`);
        return (job.state === 'done' || job.state === 'failed') && job;
      };
      const job = await waitUntil('job done', ended, 240_000);
      if (job.state === 'failed') throw new Error(`job failed: ${job.error}`); // at once, not after the whole wait
    } catch (e) {
      // What a stalled round looks like, for whoever reads a failed CI log.
      console.log('stalled:', JSON.stringify(coord.scheduler.status(id)), 'workers', loops.map((l) => l.workerId).join(' '));
      throw e;
    } finally {
      // A failed row must leave neither workers nor a running job behind for the next row.
      await Promise.all(loops.map((l) => l.stop('release')));
      await api(url, token, `/api/jobs/${id}/cancel`, {}).catch(() => {});
    }
    const metrics = await jobMetrics(url, token, id);
    const accuracy = metrics.find((m) => m.name === 'test_accuracy')?.value ?? 0;
    const results = await coord.store.results(id);
    const accepted = results.filter((r) => r.accepted === 1).map((r) => `${r.round}/${r.shard}`);
    const states = async (ls: WorkerLoop[]) => Promise.all(ls.map(async (l) => (await coord.store.worker(l.workerId ?? ''))?.state));
    const third_ = await coord.store.worker(outsiders[0]?.workerId ?? '');
    const ids = outsiders.map((l) => l.workerId);
    return {
      id,
      accuracy,
      accepted,
      results,
      thirdWorker: third_,
      thirdId: ids[0],
      hostileIds: ids,
      honest: await states(honest),
      hostile: await states(outsiders),
    };
  }

  return { run, store: () => coord.store };
}

/**
 * A hostile row's line and verdict: within a point of the clean run, nothing counted twice, every shard of every round
 * accepted once, no honest worker quarantined, every hostile one quarantined (on evidence against each one, in the store).
 */
export function expectHeld(name: string, r: Awaited<ReturnType<ReturnType<typeof faultMatrixRig>['run']>>, clean: number, rounds: number) {
  const counted = r.hostileIds.map((id) => r.results.filter((x) => x.worker_id === id && x.accepted).length);
  console.log(
    `${name}: test accuracy ${(r.accuracy * 100).toFixed(2)}% (clean ${(clean * 100).toFixed(2)}%), rounds ${rounds}, ` +
      `honest quarantined ${r.honest.filter((s) => s === 'quarantined').length} of 2, hostile quarantined ` +
      `${r.hostile.filter((s) => s === 'quarantined').length} of ${r.hostile.length}, hostile results counted ${counted.join('/')}`,
  );
  expect(new Set(r.accepted).size).toBe(r.accepted.length);
  expect(r.accepted.length).toBe(rounds * 6);
  expect(r.accuracy).toBeGreaterThan(clean - 0.01);
  expect(r.honest.filter((s) => s === 'quarantined')).toEqual([]);
  expect(r.hostile.every((s) => s === 'quarantined')).toBe(true);
}
