import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator } from '../coordinator/server';
import { api, mlpJob, tempDir, waitUntil } from './helpers';
import { type MariaDb, startMariaDb } from './mariadb';
import { runHonestWorkerUntilDone } from './raw-client';

// MariaDB is killed mid-job and comes back 3 s later: the coordinator rides it out. Nothing is lost or doubled.
describe('database restart mid-job', () => {
  let db: MariaDb;
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let url: string;
  const token = 'gt_restart_operator';

  beforeAll(async () => {
    db = await startMariaDb(); // its own server: the shared one must not be restarted under other tests
    const dir = tempDir('grid-db-restart-');
    coord = await startCoordinator({
      ...{ port: 0, host: '127.0.0.1', databaseUrl: db.url, dataDir: dir, webDir: join(dir, 'web'), enrolment: true, operatorToken: token },
      ...{ maxFrameBytes: 1 << 22, maxBodyBytes: 1 << 20, heartbeatMs: 5000, log: { debug() {}, info() {}, warn() {}, error() {} } },
    });
    url = `http://127.0.0.1:${coord.port}`;
  });
  afterAll(async () => {
    await coord?.close().catch(() => {});
    db?.stop();
  });

  it('finishes the job with every round once and every shard counted once', async () => {
    const rounds = 40;
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', mlpJob({ rounds, globalBatch: 128, shardSize: 32, checkpointEvery: 5 }));
    const worker = runHonestWorkerUntilDone(url, token, id, 180_000);
    const second = runHonestWorkerUntilDone(url, token, id, 180_000);
    await waitUntil('round 8', async () => (await api<{ round: number }>(url, token, `/api/jobs/${id}`)).round >= 8, 60_000, 20);
    const t0 = performance.now();
    await db.restart(3000);
    console.log(`MariaDB back after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const [job] = await Promise.all([worker, second]);
    expect(job.round).toBe(rounds);
    const row = await coord.store.job(id);
    expect(row?.state).toBe('done');
    const accepted = (await coord.store.results(id)).filter((r) => r.accepted === 1).map((r) => `${r.round}/${r.shard}`);
    const losses = (await coord.store.metrics(id)).filter((m) => m.name === 'train_loss').map((m) => m.round);
    const lost = Array.from({ length: rounds }, (_, r) => r + 1).filter((r) => !losses.includes(r)).length;
    const doubled = losses.length - new Set(losses).size;
    const duplicates = accepted.length - new Set(accepted).size;
    console.log(`rounds lost ${lost}, rounds doubled ${doubled}, duplicate results ${duplicates}, accepted ${accepted.length} of ${rounds * 4}`);
    expect([lost, doubled, duplicates]).toEqual([0, 0, 0]);
    expect(accepted.length).toBe(rounds * 4);
  }, 240_000);
});
