import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../coordinator/store/index';
import { api, mlpJob, type Proc, startCoordinatorProcess, startWorker, tempDir, waitUntil } from './helpers';

interface Job {
  state: string;
  round: number;
}

describe('a coordinator killed with SIGKILL resumes the job from its last checkpoint', () => {
  const procs: Proc[] = [];
  afterAll(() => {
    for (const p of procs) p.child.kill('SIGKILL');
  });

  it('kill -9 mid-job, restart on the same data dir: the job finishes from the checkpoint', async () => {
    const dir = tempDir('grid-kill-');
    // A fixed port below the ephemeral range: reconnecting workers could otherwise self-connect to a freed ephemeral port.
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    let coord = await startCoordinatorProcess(dir, port);
    procs.push(coord);
    // Enough rounds that a fast machine is still mid-job when the kill lands (16 were all done between two polls).
    const rounds = 90;
    const { id } = await api<{ id: number }>(coord.url, coord.token, '/api/jobs', mlpJob({ rounds, checkpointEvery: 3 }));
    // CPU-backend workers here: this test is about the coordinator, and they start fastest.
    const workers = ['a', 'b'].map((n) => startWorker(coord.url, coord.token, n, 'cpu'));
    procs.push(...workers);

    const before = await waitUntil(
      'round 7',
      async () => {
        const j = await api<Job>(coord.url, coord.token, `/api/jobs/${id}`);
        return j.round >= 7 && j;
      },
      120_000,
      20,
    );
    coord.child.kill('SIGKILL');
    await coord.exited;
    console.log(`killed the coordinator at round ${before.round}`);
    expect(before.round).toBeLessThan(rounds - 3); // killed mid-job, with checkpoints still to come

    let store = await openStore(`sqlite:${join(dir, 'grid.db')}`);
    const ckpt = await store.latestCheckpoint(id);
    await store.close();
    expect(ckpt!.round % 3).toBe(0);
    expect(ckpt!.round).toBeGreaterThanOrEqual(6);

    coord = await startCoordinatorProcess(dir, port);
    procs.push(coord);
    const resumed = await coord.waitFor(/job resumed from checkpoint/);
    expect(JSON.parse(resumed)).toMatchObject({ job: id, round: ckpt!.round, sha256: ckpt!.sha256 });

    // The workers reconnect on their own (exponential backoff) and the job completes.
    const job = await waitUntil(
      'job done after restart',
      async () => {
        const j = await api<Job>(coord.url, coord.token, `/api/jobs/${id}`);
        return j.state === 'done' && j;
      },
      180_000,
    );
    expect(job.round).toBe(rounds);

    store = await openStore(`sqlite:${join(dir, 'grid.db')}`);
    const checkpoints = await store.checkpoints(id);
    const results = await store.results(id);
    await store.close();
    const due = Array.from({ length: Math.floor(rounds / 3) }, (_, i) => 3 * (i + 1));
    expect(checkpoints.map((c) => c.round)).toEqual(rounds % 3 ? [...due, rounds] : due);
    // Every round after the checkpoint has a full set of accepted shards from the second coordinator.
    for (let r = ckpt!.round; r < rounds; r++) {
      const shards = results.filter((x) => x.round === r && x.accepted === 1).map((x) => x.shard);
      expect(new Set(shards)).toEqual(new Set([0, 1, 2, 3]));
    }
    for (const w of workers) expect(w.output.some((l) => l.includes('"disconnected"'))).toBe(true);
  }, 300_000);
});
