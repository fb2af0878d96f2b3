import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../coordinator/store/index';
import { api, mlpJob, type Proc, startCoordinatorProcess, startWorker, tempDir, waitUntil } from './helpers';
import { DIALECTS, freshDatabaseUrl } from './stores';

interface Job {
  state: string;
  round: number;
  totalRounds: number;
}
interface Metric {
  round: number;
  name: string;
  value: number;
}

// Coordinator + 3 native workers on Dawn's software Vulkan adapter; one is SIGKILLed mid-job. Once per store:
// the ledger (one accepted result per round and shard, one metrics row per round) must be the same on both.
for (const dialect of DIALECTS)
  describe(`end to end on ${dialect}: 3 native workers train the MLP on Fashion-MNIST, one dies mid-round`, () => {
    const procs: Proc[] = [];
    afterAll(() => {
      for (const p of procs) p.child.kill('SIGKILL');
    });

    it('completes the job with every shard counted once and a falling loss', async () => {
      const dir = tempDir('grid-e2e-');
      const databaseUrl = dialect === 'sqlite' ? `sqlite:${join(dir, 'grid.db')}` : await freshDatabaseUrl(dialect);
      const coord = await startCoordinatorProcess(dir, 0, { DATABASE_URL: databaseUrl });
      procs.push(coord);
      const rounds = 12;
      const { id } = await api<{ id: number }>(
        coord.url,
        coord.token,
        '/api/jobs',
        mlpJob({ rounds, globalBatch: 384, shardSize: 64, evalEvery: 6, evalSamples: 2000, leaseMs: 15_000 }),
      );
      // w2 logs each shard, so the kill below lands right after it is assigned one (polling the API for its lease
      // missed leases this short at times, and the job could end first; slowing w2 instead let backups take its shards).
      const workers = ['w1', 'w2', 'w3'].map((n) => startWorker(coord.url, coord.token, n, 'vulkan', n === 'w2' ? ['--log-shards'] : []));
      procs.push(...workers);
      for (const w of workers) {
        const line = await w.waitFor(/backend ready/);
        console.log(`worker: ${line}`);
      }
      await waitUntil('round 3', async () => (await api<Job>(coord.url, coord.token, `/api/jobs/${id}`)).round >= 3);
      // Kill a worker while it holds a lease, so a shard must be reassigned.
      const before = workers[1].output.length;
      await waitUntil('w2 assigned a shard', async () => workers[1].output.slice(before).some((l) => l.includes('"msg":"assigned"')), 60_000, 1);
      workers[1].child.kill('SIGKILL');

      const job = await waitUntil(
        'job done',
        async () => {
          const j = await api<Job>(coord.url, coord.token, `/api/jobs/${id}`);
          return j.state === 'done' && j;
        },
        240_000,
      );
      expect(job.round).toBe(rounds);
      // A worker's log summarises its shards (a progress line every 10 s) instead of three lines each.
      expect(workers[0].output.filter((l) => /"msg":"(assigned|computed|accepted)"/.test(l))).toEqual([]);

      const store = await openStore(databaseUrl);
      const results = await store.results(id);
      const assignments = await store.assignments(id);
      await store.close();
      const accepted = results.filter((r) => r.accepted === 1);
      expect(accepted.length).toBe(rounds * 6);
      for (let r = 0; r < rounds; r++)
        expect(
          accepted
            .filter((x) => x.round === r)
            .map((x) => x.shard)
            .sort((a, b) => a - b),
        ).toEqual([0, 1, 2, 3, 4, 5]);
      // The killed worker's lease either expired (and its shard went to another worker) or its result had already
      // arrived when it died; no lease is left open either way.
      expect(assignments.filter((a) => a.state === 'leased')).toEqual([]);
      const expired = assignments.filter((a) => a.state === 'expired').length;
      console.log(`${dialect}: leases expired by the kill and reassigned: ${expired}`);
      expect(new Set(accepted.map((r) => r.worker_id)).size).toBe(3);

      const metrics = await api<Metric[]>(coord.url, coord.token, `/api/jobs/${id}/metrics`);
      const loss = metrics.filter((m) => m.name === 'train_loss');
      expect(loss.map((m) => m.round)).toEqual(Array.from({ length: rounds }, (_, r) => r + 1)); // each round closed exactly once
      const first = loss.slice(0, 2).reduce((s, m) => s + m.value, 0) / 2;
      const last = loss.slice(-2).reduce((s, m) => s + m.value, 0) / 2;
      console.log(`train loss: first rounds ${first.toFixed(3)}, last rounds ${last.toFixed(3)}`);
      expect(last).toBeLessThan(first * 0.8);
      const acc = metrics.filter((m) => m.name === 'test_accuracy');
      expect(acc.map((m) => m.round)).toEqual([6, 12]);
      expect(acc[1].value).toBeGreaterThan(0.6);
    }, 300_000);
  });
