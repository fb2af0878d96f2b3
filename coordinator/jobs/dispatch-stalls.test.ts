import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeFrame, encodeTensor } from '../../protocol/frames';
import type { Assignment } from '../../protocol/messages';
import { assigned, CSV, connect, gradient, job, link, N, result, settle } from '../../test/scheduler-fixtures';
import { freshStore } from '../../test/stores';
import { DatasetRegistry } from '../data/dataset-registry';
import { Scheduler } from '../job-kinds';
import { createLogger } from '../log';
import { Metrics } from '../metrics';
import type { Store } from '../store/index';

// The share cap and "leave a shard you failed to someone else" are preferences: a free shard that no connected
// worker may take under them still goes to someone, or the round waits forever.
describe('dispatch preferences never stall a round', () => {
  let store: Store;
  let scheduler: Scheduler;

  beforeEach(async () => {
    store = await freshStore('sqlite');
    const datasets = new DatasetRegistry(store, mkdtempSync(join(tmpdir(), 'grid-stall-')));
    await datasets.uploadCsv('toy', 'train', CSV);
    scheduler = new Scheduler({ store, datasets, log: createLogger('error', () => true), metrics: new Metrics(), owner: 'test' });
    await scheduler.start();
  });
  afterEach(async () => {
    await scheduler.stop();
    await store.close();
  });

  const finish = async (w: ReturnType<typeof link>, a: Assignment) => {
    await scheduler.result(w.id, result(a), gradient(a));
    await settle();
  };

  it('hands out the odd shard of a round that two workers under a half share cap cannot split evenly', async () => {
    const id = await scheduler.submit(job({ globalBatch: 40, rounds: 1 }), null); // 5 shards, at most 2 each
    const [a, b] = [link('worker-odd-a01', 1), link('worker-odd-b01', 2)];
    connect(scheduler, a, b);
    for (let n = 1; n <= 2; n++) {
      await finish(a, (await assigned(a, n))[n - 1]);
      await finish(b, (await assigned(b, n))[n - 1]);
    }
    const last = [...a.assigns().slice(2), ...b.assigns().slice(2)];
    expect(last).toHaveLength(1);
    await finish(a.assigns().includes(last[0]) ? a : b, last[0]);
    expect(await store.job(id)).toMatchObject({ state: 'done', round: 1 });
  });

  it('hands a shard back to a worker that failed it when the only other candidate is at its share cap', async () => {
    const id = await scheduler.submit(job({ globalBatch: 32, rounds: 1 }), null); // 4 shards, at most 2 each
    const [capped, handsBack, liar] = [link('worker-capped01', 1), link('worker-back-001', 2), link('worker-liar-001', 3)];
    for (const w of [capped, handsBack, liar]) scheduler.dispatcher.addWorker(w);
    scheduler.dispatcher.ready(handsBack.id, 1);
    scheduler.dispatcher.ready(liar.id, 1);
    scheduler.dispatcher.ready(capped.id, 2); // the other two shards: the capped worker has its share
    const [lie] = await assigned(liar, 1);
    const nan = decodeFrame(
      encodeTensor({ kind: 'gradient', job: lie.jobId, round: lie.round, shard: lie.shard }, new Float32Array(N).fill(Number.NaN), 'f32'),
    );
    await expect(scheduler.result(liar.id, result(lie), nan)).rejects.toMatchObject({ code: 'NON_FINITE' });
    await finish(handsBack, (await assigned(handsBack, 1))[0]);
    const [taken] = (await assigned(handsBack, 2)).slice(1);
    expect(taken.shard).toBe(lie.shard);
    await scheduler.dispatcher.release(handsBack.id, taken.assignmentId, 'volunteer paused');
    await scheduler.tick();
    await settle();
    // Both remaining candidates failed the shard and the third is capped: one of the two takes it again.
    const again = [...handsBack.assigns().slice(2), ...liar.assigns().slice(1)];
    expect(again.map((a) => a.shard)).toEqual([lie.shard]);
    await finish(handsBack.assigns().includes(again[0]) ? handsBack : liar, again[0]);
    for (const a of await assigned(capped, 2)) await finish(capped, a);
    expect(await store.job(id)).toMatchObject({ state: 'done', round: 1 });
  });
});
