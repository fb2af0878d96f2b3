import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../coordinator/store/index';
import { api, mlpJob, type Proc, startCoordinatorProcess, startWorker, tempDir, waitUntil } from './helpers';
import { freshDatabaseUrl } from './stores';

// Two coordinators on one MariaDB with separate data directories (as on two hosts). The owner of a job stops
// (frozen past its lease, or killed); the other takes the job over from the checkpoint in the database. Nothing is
// lost or counted twice, and a frozen owner that wakes up writes nothing more.
const ROUNDS = 24;
const TOKEN = 'gt_two_coordinators';

describe('two coordinators on one database', () => {
  const procs: Proc[] = [];
  afterAll(() => {
    for (const p of procs) p.child.kill('SIGKILL');
  });

  async function scenario(stop: 'freeze' | 'kill') {
    const databaseUrl = await freshDatabaseUrl('mysql');
    const env = { DATABASE_URL: databaseUrl, GRID_OPERATOR_TOKEN: TOKEN };
    const a = await startCoordinatorProcess(tempDir('grid-coord-a-'), 0, env);
    const b = await startCoordinatorProcess(tempDir('grid-coord-b-'), 0, env);
    procs.push(a, b);
    const { id } = await api<{ id: number }>(a.url, TOKEN, '/api/jobs', mlpJob({ rounds: ROUNDS, globalBatch: 128, shardSize: 64, checkpointEvery: 1 }));
    // Each worker knows both coordinators and fails over when its own goes away.
    const workers = [startWorker(`${a.url},${b.url}`, TOKEN, 'wa'), startWorker(`${b.url},${a.url}`, TOKEN, 'wb')];
    procs.push(...workers);
    await waitUntil('round 5', async () => (await api<{ round: number }>(b.url, TOKEN, `/api/jobs/${id}`)).round >= 5, 60_000, 50);
    const stoppedAt = performance.now();
    a.child.kill(stop === 'freeze' ? 'SIGSTOP' : 'SIGKILL');
    await b.waitFor(/job resumed from checkpoint|"msg":"round closed"/, 40_000);
    const takeoverS = (performance.now() - stoppedAt) / 1000;
    const frozenRound = (await api<{ round: number }>(b.url, TOKEN, `/api/jobs/${id}`)).round;
    if (stop === 'freeze') {
      await waitUntil('3 rounds on b', async () => (await api<{ round: number }>(b.url, TOKEN, `/api/jobs/${id}`)).round >= frozenRound + 3, 60_000, 50);
      a.child.kill('SIGCONT');
      await a.waitFor(/taken over by another coordinator/, 20_000);
    }
    const job = await waitUntil(
      'job done',
      async () => {
        const j = await api<{ state: string; round: number }>(b.url, TOKEN, `/api/jobs/${id}`);
        return j.state === 'done' && j;
      },
      120_000,
      100,
    );
    const store = await openStore(databaseUrl);
    const accepted = (await store.results(id)).filter((r) => r.accepted === 1).map((r) => `${r.round}/${r.shard}`);
    const losses = (await store.metrics(id)).filter((m) => m.name === 'train_loss').map((m) => m.round);
    await store.close();
    const lost = Array.from({ length: ROUNDS }, (_, r) => r + 1).filter((r) => !losses.includes(r)).length;
    const doubled = losses.length - new Set(losses).size;
    const duplicates = accepted.length - new Set(accepted).size;
    console.log(`${stop}: takeover after ${takeoverS.toFixed(1)} s; rounds lost ${lost}, rounds doubled ${doubled}, duplicate results ${duplicates}`);
    expect(job.round).toBe(ROUNDS);
    expect([lost, doubled, duplicates]).toEqual([0, 0, 0]);
    expect(accepted.length).toBe(ROUNDS * 2);
    expect(takeoverS).toBeLessThan(30);
    // wa lost a and carried on with b: connected twice.
    if (stop === 'kill') expect(workers[0].output.filter((l) => l.includes('"msg":"connected"')).length).toBeGreaterThanOrEqual(2);
  }

  it('the owner freezes past its lease, the other takes over, the owner wakes and is fenced off', () => scenario('freeze'), 240_000);
  it('the owner is killed, the other takes over from the checkpoint in the database', () => scenario('kill'), 240_000);
});
