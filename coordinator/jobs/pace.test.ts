import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assigned, CSV, connect, gradient, job, link, result, settle } from '../../test/scheduler-fixtures';
import { freshStore } from '../../test/stores';
import { DatasetRegistry } from '../data/dataset-registry';
import { Scheduler } from '../job-kinds';
import { createLogger } from '../log';
import { Metrics } from '../metrics';
import type { Store } from '../store/index';
import { busyMs, fasterFinishAll, sizesByRate } from './pace';

describe('pace arithmetic', () => {
  it('leaves shards to faster workers only when they would finish all of them first', () => {
    // 100 samples a shard; this worker needs 1 s for one. A worker 10x faster, free in 200 ms, does 8 in that second.
    expect(fasterFinishAll(8, 100, 100, [{ rate: 1000, busyMs: 200, most: 99 }])).toBe(true);
    expect(fasterFinishAll(9, 100, 100, [{ rate: 1000, busyMs: 200, most: 99 }])).toBe(false);
    expect(
      fasterFinishAll(9, 100, 100, [
        { rate: 1000, busyMs: 200, most: 99 },
        { rate: 200, busyMs: 0, most: 99 },
      ]),
    ).toBe(true);
    expect(fasterFinishAll(1, 100, 100, [{ rate: 1000, busyMs: 2000, most: 99 }])).toBe(false); // busy longer than this worker needs
    expect(fasterFinishAll(2, 100, 100, [{ rate: 1000, busyMs: 0, most: 1 }])).toBe(false); // one short of its share cap
    expect(fasterFinishAll(1, 100, 0, [{ rate: 1000, busyMs: 0, most: 99 }])).toBe(false); // no measured rate: nothing to compare
  });

  it('counts a worker over twice its expected time as not keeping pace', () => {
    expect(busyMs([{ since: 0, count: 100 }], 100, 400)).toBe(600);
    expect(busyMs([], 100, 400)).toBe(0);
    expect(busyMs([{ since: 0, count: 100 }], 100, 2001)).toBeUndefined();
  });
});

describe('slow workers leave a round to faster ones', () => {
  let store: Store;
  let scheduler: Scheduler;
  let clock = 1_000_000;

  beforeEach(async () => {
    store = await freshStore('sqlite');
    const datasets = new DatasetRegistry(store, mkdtempSync(join(tmpdir(), 'grid-pace-')));
    await datasets.uploadCsv('toy', 'train', CSV);
    scheduler = new Scheduler({ store, datasets, log: createLogger('error', () => true), metrics: new Metrics(), owner: 'test', now: () => clock });
    await scheduler.start();
  });
  afterEach(async () => {
    await scheduler.stop();
    await store.close();
  });

  it('gives a worker measured 400x slower no shard three fast ones finish sooner, and all of them once they leave', async () => {
    const id = await scheduler.submit(job({ globalBatch: 48, rounds: 3, aggregation: { maxShare: 1, reference: 0 } }), null); // 6 shards a round
    const fast = [1, 2, 3].map((i) => Object.assign(link(`worker-fast-00${i}`, i), { samplesPerSec: 800 }));
    const slow = Object.assign(link('worker-slow-001', 9), { samplesPerSec: 800 }); // claims to be fast: its first result says otherwise
    connect(scheduler, ...fast, slow);
    const [s] = await assigned(slow, 1);
    /** Have the fast workers finish every shard they are sent in `round`, 10 ms each (800 samples/s). */
    const fastRound = async (round: number) => {
      for (let more = true; more; ) {
        more = false;
        for (const w of fast)
          for (const a of w.assigns().filter((x) => x.round === round && !done.has(x.assignmentId))) {
            done.add(a.assignmentId);
            clock += 10;
            await scheduler.result(w.id, result(a), gradient(a));
            await settle();
            more = true;
          }
      }
    };
    const done = new Set<number>();
    await fastRound(0);
    clock += 4000; // 8 samples in 4 s: 2 samples/s
    await scheduler.result(slow.id, result(s), gradient(s));
    await settle();
    expect((await store.job(id))?.round).toBe(1);
    await fastRound(1);
    expect(slow.assigns()).toHaveLength(1); // round 1 went to the fast workers alone: it would have held them 4 s
    expect((await store.job(id))?.round).toBe(2);
    for (const w of fast) await scheduler.dispatcher.removeWorker(w); // nobody faster left: the slow worker takes the round
    await settle();
    expect(
      slow
        .assigns()
        .slice(1)
        .map((a) => a.round),
    ).toEqual([2]);
  });

  it("never holds back a worker that would be a round's second or third voter", async () => {
    await scheduler.submit(job({ globalBatch: 24, rounds: 2, aggregation: { maxShare: 1, reference: 0 } }), null); // 3 shards a round
    const fast = Object.assign(link('worker-fast-004', 1), { samplesPerSec: 800 });
    const slow = Object.assign(link('worker-slow-002', 2), { samplesPerSec: 800 });
    connect(scheduler, fast, slow);
    const [s] = await assigned(slow, 1);
    for (let n = 1; n <= 2; n++) {
      const [a] = (await assigned(fast, n)).slice(n - 1);
      clock += 10;
      await scheduler.result(fast.id, result(a), gradient(a));
      await settle();
    }
    clock += 4000;
    await scheduler.result(slow.id, result(s), gradient(s));
    await settle();
    // Slow as it is, a round computed by one worker alone could not be checked for outliers.
    expect((await assigned(slow, 2)).map((a) => a.round)).toEqual([0, 1]);
  });

  it('sizes the next round by measured rate when the job asks: one shard per worker, the faster one three times the size', async () => {
    await scheduler.submit(job({ globalBatch: 32, rounds: 2, shardSizing: 'by-rate', aggregation: { maxShare: 1, reference: 0 } }), null);
    const fast = Object.assign(link('worker-fast-002', 1), { samplesPerSec: 800 });
    const slow = Object.assign(link('worker-slow-002', 2), { samplesPerSec: 800 });
    connect(scheduler, fast, slow);
    const [s] = await assigned(slow, 1);
    expect(s.data.count).toBe(8); // no rate measured yet: shardSize shards
    for (let n = 1; n <= 3; n++) {
      const [a] = (await assigned(fast, n)).slice(n - 1);
      clock += 10; // 800 samples/s
      await scheduler.result(fast.id, result(a), gradient(a));
      await settle();
    }
    await scheduler.result(slow.id, result(s), gradient(s)); // 8 samples in 30 ms: 267 samples/s
    await settle();
    const [big] = (await assigned(fast, 4)).slice(3);
    const [small] = (await assigned(slow, 2)).slice(1);
    expect([big.round, big.data.count, small.round, small.data.count]).toEqual([1, 24, 1, 8]);
  });

  it('sizes a newcomer into the next round by the speed it claims, until its results show its own', async () => {
    await scheduler.submit(job({ globalBatch: 32, rounds: 3, shardSizing: 'by-rate' }), null);
    const first = Object.assign(link('worker-first-01', 1), { samplesPerSec: 800 });
    connect(scheduler, first);
    for (let n = 1; n <= 4; n++) {
      const [a] = (await assigned(first, n)).slice(n - 1); // round 0: four shards of 8, it is alone
      clock += 10;
      await scheduler.result(first.id, result(a), gradient(a));
      await settle();
    }
    const [whole] = (await assigned(first, 5)).slice(4);
    expect([whole.round, whole.data.count]).toEqual([1, 32]); // round 1: one shard, its one worker's
    const late = Object.assign(link('worker-late-001', 2), { samplesPerSec: 800 });
    connect(scheduler, late);
    clock += 40;
    await scheduler.result(first.id, result(whole), gradient(whole));
    await settle();
    const [mine] = await assigned(late, 1);
    expect([mine.round, mine.data.count]).toEqual([2, 16]); // round 2: halves, by the rates observed and claimed
  });

  it('sizes out a worker that claims great speed and lets its lease lapse', async () => {
    await scheduler.submit(job({ globalBatch: 32, rounds: 3, shardSizing: 'by-rate', leaseMs: 1000, aggregation: { maxShare: 1, reference: 0 } }), null);
    const liar = Object.assign(link('worker-liar-002', 1), { samplesPerSec: 1_000_000 });
    const honest = Object.assign(link('worker-honest-1', 2), { samplesPerSec: 800 });
    connect(scheduler, liar, honest);
    await assigned(liar, 1); // it claims to be fastest, so it is served first, and never answers
    for (let n = 1; n <= 3; n++) {
      const [a] = (await assigned(honest, n)).slice(n - 1);
      clock += 10;
      await scheduler.result(honest.id, result(a), gradient(a));
      await settle();
    }
    clock += 2000;
    await scheduler.tick(); // the liar's lease lapses: its shard goes to the honest worker
    const [left] = (await assigned(honest, 4)).slice(3);
    clock += 10;
    await scheduler.result(honest.id, result(left), gradient(left));
    await settle();
    const [next] = (await assigned(honest, 5)).slice(4);
    expect([next.round, next.data.count]).toEqual([1, 32]); // the whole round to the worker that did the work
    expect(liar.assigns()).toHaveLength(1);
  });
});

describe('shard sizes by measured rate', () => {
  it('gives each worker a shard in proportion to its rate, in whole units, the remainder to the fastest', () => {
    expect(sizesByRate(512, 32, [3000, 1000])).toEqual([384, 128]);
    expect(sizesByRate(512, 128, [1000])).toEqual([512]);
    expect(sizesByRate(500, 100, [1000, 1000, 1000])).toEqual([300, 100, 100]);
    expect(sizesByRate(520, 128, [1000, 1000])).toEqual([264, 256]); // 8 samples past the last whole unit
  });

  it('leaves out a worker too slow to fill a unit, and falls back to unit shards without rates', () => {
    expect(sizesByRate(512, 128, [10_000, 100])).toEqual([512]);
    expect(sizesByRate(512, 128, [])).toEqual([128, 128, 128, 128]);
    expect(sizesByRate(300, 128, [])).toEqual([128, 128, 44]);
    expect(sizesByRate(512, 128, [5, 5, 5, 5, 5, 5])).toEqual([128, 128, 128, 128]); // more workers than units
  });
});
