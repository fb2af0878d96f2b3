import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startCoordinator } from '../coordinator/server';
import { CpuBackend } from '../kernels/cpu/backend';
import { kernelsEngine } from '../kernels/engine';
import { memoryCache } from '../worker/host';
import { WorkerLoop } from '../worker/loop';
import { api, mlpJob, tempDir, waitUntil } from './helpers';
import { HostileBackend, type Hostility } from './hostile-backend';

// Two honest workers and one hostile one train the Fashion-MNIST MLP; each row of the matrix is one hostile
// behaviour. The job must finish within a point of the clean run (three honest workers, same spec), count nothing
// twice, and the store must show the hostile worker quarantined.
const ROUNDS = 60;
const SPEC = mlpJob({ rounds: ROUNDS, globalBatch: 192, shardSize: 32, evalEvery: ROUNDS, evalSamples: 5000, checkpointEvery: 1000 });
const caps = { kind: 'native' as const, backend: 'cpu' as const, cores: 1, memoryMB: 1000 };

describe('fault matrix: one hostile worker among honest ones', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let url: string;
  const token = 'gt_matrix_operator';
  let clean = 0;

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

  const worker = (backend: CpuBackend, workerToken: string) =>
    new WorkerLoop({
      coordinator: url,
      token: workerToken,
      engines: [kernelsEngine(backend)],
      capabilities: caps,
      cache: memoryCache(),
      connect: (u, p) => new WebSocket(u, p),
    });

  /** Run one job with two honest workers and `third`; returns its final test accuracy and the job's ledger. */
  async function run(third: CpuBackend, spec: object = SPEC) {
    const { token: volunteer } = await api<{ token: string }>(url, token, '/api/tokens', { name: 'volunteer', scopes: ['worker'] });
    const loops = [worker(new CpuBackend(), token), worker(new CpuBackend(), token), worker(third, volunteer)];
    for (const l of loops) l.start();
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', spec);
    try {
      await waitUntil('job done', async () => (await api<{ state: string }>(url, token, `/api/jobs/${id}`)).state === 'done', 240_000);
    } catch (e) {
      // What a stalled round looks like, for whoever reads a failed CI log.
      console.log('stalled:', JSON.stringify(coord.scheduler.status(id)), 'workers', loops.map((l) => l.workerId).join(' '));
      throw e;
    } finally {
      // A failed row must leave neither workers nor a running job behind for the next row.
      await Promise.all(loops.map((l) => l.stop('release')));
      await api(url, token, `/api/jobs/${id}/cancel`, {}).catch(() => {});
    }
    const metrics = await api<{ name: string; value: number }[]>(url, token, `/api/jobs/${id}/metrics`);
    const accuracy = metrics.find((m) => m.name === 'test_accuracy')?.value ?? 0;
    const results = await coord.store.results(id);
    const accepted = results.filter((r) => r.accepted === 1).map((r) => `${r.round}/${r.shard}`);
    const third_ = await coord.store.worker(loops[2].workerId ?? '');
    return { id, accuracy, accepted, results, thirdWorker: third_, thirdId: loops[2].workerId };
  }

  it('clean run: three honest workers', async () => {
    const r = await run(new CpuBackend());
    clean = r.accuracy;
    console.log(`clean: test accuracy ${(clean * 100).toFixed(2)}%, third worker ${r.thirdWorker?.state} reputation ${r.thirdWorker?.reputation.toFixed(3)}`);
    expect(clean).toBeGreaterThan(0.7);
    expect(r.thirdWorker?.state).not.toBe('quarantined');
  }, 300_000);

  for (const how of ['scale', 'flip', 'replay', 'huge', 'nan'] satisfies Hostility[])
    it(`hostile worker: ${how}`, async () => {
      const r = await run(new HostileBackend(how));
      const refused = r.results.filter((x) => x.worker_id === r.thirdId && !x.accepted).map((x) => x.reason);
      const counted = r.results.filter((x) => x.worker_id === r.thirdId && x.accepted).length;
      console.log(
        `${how}: test accuracy ${(r.accuracy * 100).toFixed(2)}% (clean ${(clean * 100).toFixed(2)}%), hostile ${r.thirdWorker?.state}, ` +
          `reputation ${r.thirdWorker?.reputation.toFixed(3)}, results counted ${counted}, refused ${refused.length} (${[...new Set(refused)].join(' ')})`,
      );
      expect(new Set(r.accepted).size).toBe(r.accepted.length); // nothing counted twice
      expect(r.accepted.length).toBe(ROUNDS * 6);
      expect(r.accuracy).toBeGreaterThan(clean - 0.01);
      expect(r.thirdWorker?.state).toBe('quarantined');
    }, 300_000);

  it('hostile worker: noise, caught only by redundant computation', async () => {
    // Gradient plus noise of twice its norm: positive cosine, norm within the outlier bounds. Half the shards are
    // computed again by a worker of another token; the noisy result is outvoted by a third worker.
    const unchecked = await run(new HostileBackend('noise'));
    expect(unchecked.thirdWorker?.state).not.toBe('quarantined'); // the other defences do not see it
    const r = await run(new HostileBackend('noise'), { ...SPEC, redundancy: { fraction: 0.5 } });
    const refused = r.results.filter((x) => x.worker_id === r.thirdId && !x.accepted).map((x) => x.reason);
    const byRound = new Map<string, number>();
    for (const k of r.accepted) byRound.set(k.split('/')[0], (byRound.get(k.split('/')[0]) ?? 0) + 1);
    console.log(
      `noise: test accuracy ${(r.accuracy * 100).toFixed(2)}% (clean ${(clean * 100).toFixed(2)}%), hostile ${r.thirdWorker?.state}, ` +
        `reputation ${r.thirdWorker?.reputation.toFixed(3)}, refused ${refused.length} (${[...new Set(refused)].join(' ')}), ` +
        `results accepted ${r.accepted.length} for ${ROUNDS * 6} shards`,
    );
    expect(new Set(r.accepted).size).toBe(r.accepted.length);
    expect(byRound.size).toBe(ROUNDS);
    for (const shards of byRound.values()) expect(shards).toBeGreaterThanOrEqual(6);
    expect(refused).toContain('MISMATCH');
    expect(r.accuracy).toBeGreaterThan(clean - 0.01);
    expect(r.thirdWorker?.state).toBe('quarantined');
  }, 300_000);
});
