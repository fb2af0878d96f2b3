import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inferenceGraph } from '../../kernels/onnx/models';
import { decodeFrame, encodeTensor } from '../../protocol/frames';
import type { Assignment } from '../../protocol/messages';
import { readParams } from '../../protocol/params-delta';
import { assigned, CSV, gradient, job, link, MODEL, N, settle as pause, result } from '../../test/scheduler-fixtures';
import { DIALECTS, freshStore } from '../../test/stores';
import { DatasetRegistry } from '../data/dataset-registry';
import { Scheduler } from '../job-kinds';
import { createLogger } from '../log';
import { Metrics } from '../metrics';
import { inspectOnnx } from '../models/inspect';
import type { Store } from '../store/index';

for (const dialect of DIALECTS)
  describe(`scheduler on ${dialect}`, () => {
    let store: Store;
    let scheduler: Scheduler;
    let datasets: DatasetRegistry;
    const dir = mkdtempSync(join(tmpdir(), 'grid-sched-'));
    const make = () => new Scheduler({ store, datasets, log: createLogger('error', () => true), metrics: new Metrics(), owner: 'test' });
    /** Let the messages in flight land, and a closed round's record (written in the background) with them. */
    const settle = async () => {
      await pause();
      await scheduler.idle();
    };

    beforeEach(async () => {
      store = await freshStore(dialect);
      datasets = new DatasetRegistry(store, dir);
      await datasets.uploadCsv('toy', 'train', CSV);
      scheduler = make();
      await scheduler.start();
    });
    afterEach(async () => {
      await scheduler.stop();
      await store.close();
    });

    it('closes a round exactly once when its last two results land together', async () => {
      const id = await scheduler.submit(job(), null);
      const [a, b] = [link('worker-a-0001'), link('worker-b-0001')];
      scheduler.dispatcher.addWorker(a);
      scheduler.dispatcher.addWorker(b);
      scheduler.dispatcher.ready(a.id, 1);
      scheduler.dispatcher.ready(b.id, 1);
      const [ja, jb] = [(await assigned(a, 1))[0], (await assigned(b, 1))[0]];
      await Promise.all([scheduler.result(a.id, result(ja), gradient(ja)), scheduler.result(b.id, result(jb), gradient(jb))]);
      await settle();
      expect((await store.job(id))?.round).toBe(1);
      const losses = (await store.metrics(id)).filter((m) => m.name === 'train_loss');
      expect(losses.map((m) => m.round)).toEqual([1]);
      const accepted = (await store.results(id)).filter((r) => r.accepted).map((r) => [r.round, r.shard]);
      expect(accepted.sort((x, y) => x[1] - y[1])).toEqual([
        [0, 0],
        [0, 1],
      ]);
    });

    it('pushes the parameters over the socket before the first assignment of each version, a delta once the worker holds the one before', async () => {
      await scheduler.submit(job({ download: 'int8-delta' }), null);
      const w = link('worker-push-01');
      scheduler.dispatcher.addWorker(w);
      scheduler.dispatcher.ready(w.id, 1);
      const [first] = await assigned(w, 1);
      expect(w.frames.map((f) => decodeFrame(f)).map((f) => [f.kind, f.round])).toEqual([['params', 0]]);
      await scheduler.result(w.id, result(first), gradient(first));
      const [, second] = await assigned(w, 2);
      expect([first.paramsVersion, second.paramsVersion, w.frames.length]).toEqual([0, 0, 1]); // the same version: nothing more
      await scheduler.result(w.id, result(second), gradient(second));
      const third = (await assigned(w, 3))[2];
      expect(third.paramsVersion).toBe(1);
      expect(decodeFrame(w.frames[1])).toMatchObject({ kind: 'params-delta', round: 1, count: N });
      const held = readParams(w.frames[1], readParams(w.frames[0])); // checks the hash it carries
      expect(held.length).toBe(N);
    });

    it('hands the shard of a worker that left while its lease was being written to the next worker', async () => {
      await scheduler.submit(job({ globalBatch: 8 }), null);
      const bad = link('worker-bad-001');
      scheduler.dispatcher.addWorker(bad);
      scheduler.dispatcher.ready(bad.id, 1); // the lease insert is now in flight
      await scheduler.dispatcher.removeWorker(bad); // e.g. closed for TOO_MANY_ERRORS
      const good = link('worker-good-01');
      scheduler.dispatcher.addWorker(good);
      scheduler.dispatcher.ready(good.id, 1);
      await settle();
      expect(good.assigns().length).toBe(1);
    });

    /** A job and one worker holding one of its shards. */
    const leasedOne = async () => {
      const id = await scheduler.submit(job(), null);
      const w = link('worker-0000001');
      scheduler.dispatcher.addWorker(w);
      scheduler.dispatcher.ready(w.id, 1);
      const [a] = await assigned(w, 1);
      return { id, w, a };
    };

    it('writes the rows of leases that ended without a result within a tick, as they ended', async () => {
      const { id, w, a } = await leasedOne();
      await scheduler.dispatcher.release(w.id, a.assignmentId, 'too big');
      await scheduler.tick();
      expect((await store.assignments(id)).map((r) => [r.id, r.state])).toContainEqual([a.assignmentId, 'released']);
    });

    it('writes the rows of leases still open when it stops', async () => {
      const { id, a } = await leasedOne();
      await scheduler.stop();
      expect((await store.assignments(id)).map((r) => [r.id, r.state])).toEqual([[a.assignmentId, 'leased']]);
    });

    it('frees the shard when no lease id can be reserved, and hands it out again', async () => {
      await scheduler.submit(job({ globalBatch: 8 }), null);
      const reserve = store.reserveAssignmentIds.bind(store);
      let failures = 1;
      store.reserveAssignmentIds = async (n) => (failures-- > 0 ? Promise.reject(new Error('database went away')) : reserve(n));
      const w = link('worker-0000001');
      scheduler.dispatcher.addWorker(w);
      scheduler.dispatcher.ready(w.id, 1);
      await settle();
      scheduler.dispatcher.ready(w.id, 1);
      await settle();
      expect(w.assigns().length).toBe(1);
    });

    it('keeps a round’s results for its close, and writes them with its step in one transaction', async () => {
      const id = await scheduler.submit(job(), null);
      const w = link('worker-0000001');
      scheduler.dispatcher.addWorker(w);
      scheduler.dispatcher.ready(w.id, 1);
      const first = (await assigned(w, 1))[0];
      expect(await store.assignments(id)).toEqual([]); // a lease writes nothing on the round's path: its row comes with its end
      await scheduler.result(w.id, result(first), gradient(first));
      expect(await store.results(id)).toEqual([]); // accepted, and counted only with the round's step
      scheduler.dispatcher.ready(w.id, 1);
      const second = (await assigned(w, 2))[1];
      await scheduler.result(w.id, result(second), gradient(second));
      await settle();
      expect((await store.job(id))?.round).toBe(1);
      const rows = await store.results(id);
      expect(rows.map((r) => [r.round, r.shard, r.accepted, r.assignment_id])).toEqual([
        [0, first.shard, 1, first.assignmentId],
        [0, second.shard, 1, second.assignmentId],
      ]);
      expect((await store.assignments(id, 0)).map((a) => a.state)).toEqual(['done', 'done']);
    });

    it('hands out the next round while the closed one is being recorded, and records rounds in order', async () => {
      const id = await scheduler.submit(job({ globalBatch: 8 }), null);
      const close = store.closeRound.bind(store);
      let land = () => {};
      const held = new Promise<void>((r) => {
        land = r;
      });
      const recorded: number[] = [];
      store.closeRound = async (c) => {
        if (c.round === 1) await held; // the first round's transaction is slow
        recorded.push(c.round);
        return close(c);
      };
      const w = link('worker-0000001');
      scheduler.dispatcher.addWorker(w);
      scheduler.dispatcher.ready(w.id, 1);
      const first = (await assigned(w, 1))[0];
      await scheduler.result(w.id, result(first), gradient(first));
      scheduler.dispatcher.ready(w.id, 1);
      const second = (await assigned(w, 2))[1];
      expect([second.round, (await store.job(id))?.round]).toEqual([1, 0]); // computed on while its round is written
      const closing = scheduler.result(w.id, result(second), gradient(second)); // its close waits for the one before
      await pause();
      expect(recorded).toEqual([]);
      land();
      await closing;
      await settle();
      expect(recorded).toEqual([1, 2]);
      expect((await store.job(id))?.round).toBe(2);
    });

    it('writes nothing for a round it closes after another coordinator took the job over, its results included', async () => {
      const id = await scheduler.submit(job(), null);
      const close = store.closeRound.bind(store);
      // The round's results are in; then this coordinator stalls past its lease and another claims the job.
      store.closeRound = async (c) => {
        await store.db.updateTable('jobs').set({ owner_until: 0 }).where('id', '=', id).execute();
        await store.claimJobs('other-coordinator', 60_000);
        return close(c);
      };
      const w = link('worker-0000001');
      scheduler.dispatcher.addWorker(w);
      scheduler.dispatcher.ready(w.id, 2);
      for (const a of await assigned(w, 2)) await scheduler.result(w.id, result(a), gradient(a));
      await settle();
      const row = await store.job(id);
      expect(row).toMatchObject({ owner: 'other-coordinator', round: 0, state: 'running' });
      expect((await store.metrics(id)).filter((m) => m.name === 'train_loss')).toEqual([]);
      expect(await store.results(id)).toEqual([]);
    });

    it('takes an inference shard computed again to the same outputs after its first result could not be recorded', async () => {
      const bytes = inferenceGraph(MODEL, new Float32Array(N).fill(0.1));
      const { inputs, outputs, opset } = inspectOnnx(bytes, 1 << 20);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const row = { sha256, name: 'toy', token_id: null, bytes: bytes.byteLength, opset, inputs: JSON.stringify(inputs), outputs: JSON.stringify(outputs) };
      await store.putModel(row, bytes);
      const id = await scheduler.submit(
        { name: 'toy-outputs', mode: 'inference', model: { sha256 }, dataset: { name: 'toy', split: 'train' }, shardSize: 64, redundancy: { fraction: 0 } },
        null,
      );
      const record = store.recordOutcome.bind(store);
      let failures = 1;
      store.recordOutcome = (...args) => (failures-- > 0 ? Promise.reject(new Error('database went away')) : record(...args));
      const w = Object.assign(link('worker-0000001'), { trusted: true }); // the operator's own: no recomputation
      scheduler.dispatcher.addWorker(w);
      scheduler.dispatcher.ready(w.id, 1);
      await settle();
      const leased = () => w.inbox.filter((m) => m.type === 'infer');
      const [first] = leased();
      // A deterministic engine gives the same outputs for the same shard.
      const outputsOf = (a: { jobId: number; shard: number }) =>
        decodeFrame(encodeTensor({ kind: 'output', job: a.jobId, round: 0, shard: a.shard }, new Float32Array(64 * 2).fill(0.5), 'f32'));
      const resultOf = (a: { assignmentId: number }) => ({
        type: 'result' as const,
        assignmentId: a.assignmentId,
        paramsVersion: 0,
        samples: 64,
        loss: 0,
        correct: 0,
      });
      await expect(scheduler.result(w.id, resultOf(first), outputsOf(first))).rejects.toMatchObject({ code: 'INTERNAL' });
      scheduler.dispatcher.ready(w.id, 1);
      await settle();
      const again = leased()[1];
      expect(again.shard).toBe(first.shard);
      await scheduler.result(w.id, resultOf(again), outputsOf(again));
      await settle();
      expect((await store.job(id))?.state).toBe('done');
      expect((await store.results(id)).map((r) => [r.assignment_id, r.accepted])).toEqual([[again.assignmentId, 1]]);
    });

    it('has a sampled shard computed again by a worker of another token, and closes the round when both agree', async () => {
      const id = await scheduler.submit(job({ globalBatch: 8, rounds: 1, redundancy: { fraction: 1 } }), null);
      const [a, sameToken, other] = [link('worker-a-0001', 1), link('worker-a-0002', 1), link('worker-b-0001', 2)];
      for (const w of [a, sameToken, other]) scheduler.dispatcher.addWorker(w);
      scheduler.dispatcher.ready(sameToken.id, 1);
      scheduler.dispatcher.ready(a.id, 1);
      scheduler.dispatcher.ready(other.id, 1);
      const first = (await assigned(sameToken, 1))[0];
      const copy = (await assigned(other, 1))[0];
      await settle();
      expect(a.assigns()).toEqual([]); // the copy never goes to the first worker's token
      expect([first.shard, copy.shard, copy.data.cursor]).toEqual([0, 1, first.data.cursor]);
      const same = (x: Assignment) =>
        decodeFrame(encodeTensor({ kind: 'gradient', job: x.jobId, round: x.round, shard: x.shard }, new Float32Array(N).fill(0.02), 'f32'));
      await scheduler.result(sameToken.id, result(first), same(first));
      expect((await store.job(id))?.round).toBe(0); // waits for the check
      await scheduler.result(other.id, result(copy), same(copy));
      await settle();
      expect(await store.job(id)).toMatchObject({ round: 1, state: 'done' });
      expect((await store.results(id)).map((r) => r.accepted)).toEqual([1, 1]);
    });

    it('sends a check to another network than the shard’s: two tokens from one /24 check each other only when nobody else can', async () => {
      await scheduler.submit(job({ globalBatch: 16, rounds: 1, redundancy: { fraction: 1 } }), null);
      const on = (l: ReturnType<typeof link>, network: string) => Object.assign(l, { network });
      const [first, neighbour, elsewhere] = [
        on(link('worker-n-0001', 1), '203.0.113.0/24'),
        on(link('worker-n-0002', 2), '203.0.113.0/24'),
        on(link('worker-e-0001', 3), '198.51.100.0/24'),
      ];
      for (const w of [first, neighbour, elsewhere]) scheduler.dispatcher.addWorker(w);
      scheduler.dispatcher.ready(first.id, 1);
      const shard0 = (await assigned(first, 1))[0];
      scheduler.dispatcher.ready(elsewhere.id, 1);
      const shard1 = (await assigned(elsewhere, 1))[0];
      expect([shard0.shard, shard1.shard]).toEqual([0, 1]);
      scheduler.dispatcher.ready(neighbour.id, 1);
      // Both copies are free: the neighbour checks the shard from the other network, never the one from its own.
      const check = (await assigned(neighbour, 1))[0];
      expect(check.data.cursor).toBe(shard1.data.cursor);
    });

    it('lets a token on the same network check when no worker elsewhere is taking work, rather than waive the check', async () => {
      await scheduler.submit(job({ globalBatch: 8, rounds: 1, redundancy: { fraction: 1 } }), null);
      const on = (l: ReturnType<typeof link>, network: string) => Object.assign(l, { network });
      const [first, neighbour] = [on(link('worker-n-0003', 1), '203.0.113.0/24'), on(link('worker-n-0004', 2), '203.0.113.0/24')];
      for (const w of [first, neighbour]) scheduler.dispatcher.addWorker(w);
      scheduler.dispatcher.ready(first.id, 1);
      const shard = (await assigned(first, 1))[0];
      scheduler.dispatcher.ready(neighbour.id, 1);
      expect((await assigned(neighbour, 1))[0].data.cursor).toBe(shard.data.cursor);
    });

    it('has a third worker break a mismatch, and discards the outvoted result against its worker', async () => {
      const id = await scheduler.submit(job({ globalBatch: 8, rounds: 1, redundancy: { fraction: 1 } }), null);
      const [honest, liar, judge] = [link('worker-h-0001', 1), link('worker-l-0001', 2), link('worker-j-0001', 3)];
      for (const w of [honest, liar, judge]) {
        await store.registerWorker({ id: w.id, tokenId: w.tokenId, name: w.name, kind: 'native', capabilities: {} });
        scheduler.dispatcher.addWorker(w);
      }
      scheduler.dispatcher.ready(honest.id, 1);
      scheduler.dispatcher.ready(liar.id, 1);
      const first = (await assigned(honest, 1))[0];
      const copy = (await assigned(liar, 1))[0];
      scheduler.dispatcher.ready(judge.id, 1); // a worker taking work: the tie can be broken
      const frame = (x: Assignment, v: number) =>
        decodeFrame(encodeTensor({ kind: 'gradient', job: x.jobId, round: x.round, shard: x.shard }, new Float32Array(N).fill(v), 'f32'));
      await scheduler.result(honest.id, result(first), frame(first, 0.02));
      await scheduler.result(liar.id, result(copy), frame(copy, 0.03));
      const third = (await assigned(judge, 1))[0];
      expect(third.data.cursor).toBe(first.data.cursor);
      await scheduler.result(judge.id, result(third), frame(third, 0.02));
      await settle();
      expect((await store.job(id))?.round).toBe(1);
      const rows = await store.results(id);
      expect(rows.map((r) => [r.worker_id, r.accepted, r.reason])).toEqual([
        [honest.id, 1, null],
        [liar.id, 0, 'MISMATCH'],
        [judge.id, 1, null],
      ]);
      // Credit by cost: a standing result is worth its GFLOPs (6 per parameter per sample), a refused one nothing.
      expect(rows.map((r) => r.points)).toEqual([(6 * N * 8) / 1e9, 0, (6 * N * 8) / 1e9]);
      expect((await store.worker(liar.id))?.reputation).toBeLessThan(0.6);
      expect((await store.worker(honest.id))?.reputation).toBeGreaterThan(0.9);
    });

    it('lets a paused worker hold back neither the share cap nor a check: it takes no work', async () => {
      const id = await scheduler.submit(job({ rounds: 1, redundancy: { fraction: 1 } }), null);
      const [busy, paused] = [link('worker-busy-001', 1), link('worker-paused-1', 2)];
      scheduler.dispatcher.addWorker(busy);
      scheduler.dispatcher.addWorker(paused);
      scheduler.dispatcher.ready(paused.id, 0); // connected, paused by its volunteer (or out of bandwidth)
      scheduler.dispatcher.ready(busy.id, 1);
      for (let n = 1; n <= 2; n++) {
        const a = (await assigned(busy, n))[n - 1];
        await scheduler.result(busy.id, result(a), gradient(a));
      }
      await settle();
      expect((await store.job(id))?.round).toBe(1); // both shards from one worker, checks waived: the round closed
      expect(paused.assigns()).toHaveLength(0);
    });

    it('says why a job waits: no connected worker can run it', async () => {
      const id = await scheduler.submit(job({ workers: 'native' }), null);
      const browser = Object.assign(link('worker-browser-1'), { kind: 'browser' as const });
      scheduler.dispatcher.addWorker(browser);
      scheduler.dispatcher.ready(browser.id, 1);
      await settle();
      expect(scheduler.status(id)?.waiting).toBe('no connected worker can run it (native workers only)');
      const native = link('worker-native-1');
      scheduler.dispatcher.addWorker(native);
      scheduler.dispatcher.ready(native.id, 1);
      await assigned(native, 1);
      expect(scheduler.status(id)?.waiting).toBeUndefined();
      expect(browser.assigns()).toHaveLength(0);
    });

    it('waives the check when no worker of another token is connected', async () => {
      const id = await scheduler.submit(job({ globalBatch: 8, rounds: 1, redundancy: { fraction: 1 } }), null);
      const w = link('worker-0000001', 1);
      scheduler.dispatcher.addWorker(w);
      scheduler.dispatcher.ready(w.id, 2);
      const a = (await assigned(w, 1))[0];
      await scheduler.result(w.id, result(a), gradient(a));
      await settle();
      expect(w.assigns()).toHaveLength(1);
      expect((await store.job(id))?.round).toBe(1);
    });

    it('hands a new round to the fastest idle workers first, by their observed speed once they have one', async () => {
      let clock = 1_000_000;
      await scheduler.stop();
      scheduler = new Scheduler({ store, datasets, log: createLogger('error', () => true), metrics: new Metrics(), owner: 'clock', now: () => clock });
      await scheduler.start();
      const slow = { ...link('worker-slow-01'), samplesPerSec: 100 };
      const fast = { ...link('worker-fast-01'), samplesPerSec: 50_000 };
      for (const w of [slow, fast]) {
        scheduler.dispatcher.addWorker(w);
        scheduler.dispatcher.ready(w.id, 1);
      }
      clock += 2_000; // the order is rebuilt at most every second; until then newcomers queue in arrival order
      await scheduler.submit(job({ globalBatch: 8, rounds: 3 }), null); // one shard a round
      const first = (await assigned(fast, 1))[0];
      expect(slow.assigns()).toEqual([]); // the claimed speeds decide the first round
      clock += 60_000; // ...but the "fast" worker takes a minute for its 8 samples: 0.13 samples/s observed
      await scheduler.result(fast.id, result(first), gradient(first));
      await settle();
      expect((await assigned(slow, 1)).map((a) => a.round)).toEqual([1]);
      expect(fast.assigns()).toHaveLength(1);
    });

    /** A job of `rounds` whose round's one transaction fails, and its first shard's result handed in. */
    const failingClose = async (rounds?: number) => {
      const id = await scheduler.submit(job({ globalBatch: 8, ...(rounds && { rounds }) }), null);
      store.closeRound = async () => Promise.reject(new Error('disk full'));
      const w = link('worker-0000001');
      scheduler.dispatcher.addWorker(w);
      scheduler.dispatcher.ready(w.id, 1);
      await settle();
      const a = (await assigned(w, 1))[0];
      await scheduler.result(w.id, result(a), gradient(a)).catch(() => {});
      await settle();
      return id;
    };

    it('marks a job failed, with the reason, when closing its round throws', async () => {
      const id = await failingClose();
      const row = await store.job(id);
      expect(row?.state).toBe('failed');
      expect(row?.error).toMatch(/disk full/);
    });

    it("fails a job once when its last round's record fails (the close awaits it and the write reports it too)", async () => {
      const lines: string[] = [];
      await scheduler.stop();
      scheduler = new Scheduler({ store, datasets, log: createLogger('error', (l) => lines.push(l)), metrics: new Metrics(), owner: 'test' });
      await scheduler.start();
      const id = await failingClose(1);
      expect((await store.job(id))?.state).toBe('failed');
      expect(lines.filter((l) => l.includes('"msg":"job failed"'))).toHaveLength(1);
    });

    it('refuses a result whose own numbers are out of range, and keeps the job running', async () => {
      const id = await scheduler.submit(job({ globalBatch: 8 }), null);
      const w = link('worker-0000001');
      scheduler.dispatcher.addWorker(w);
      scheduler.dispatcher.ready(w.id, 1);
      await settle();
      let a = (await assigned(w, 1))[0];
      await expect(scheduler.result(w.id, result(a, { loss: 1.7e308 }), gradient(a))).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
      await settle();
      a = (await assigned(w, 2))[1];
      await expect(scheduler.result(w.id, result(a, { correct: 1e10 }), gradient(a))).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
      await settle();
      a = (await assigned(w, 3))[2];
      await scheduler.result(w.id, result(a), gradient(a));
      await settle();
      expect((await store.job(id))?.round).toBe(1);
      const acc = (await store.metrics(id)).filter((m) => m.name === 'train_accuracy');
      expect(acc.every((m) => m.value >= 0 && m.value <= 1)).toBe(true);
    });

    it('starts with a job that cannot load, marks it failed, and still takes new jobs', async () => {
      const id = await store.createJob({ name: 'broken', spec: { ...job(), dataset: { name: 'gone', split: 'train' } }, totalRounds: 3, tokenId: null });
      const fresh = make();
      await fresh.start();
      const row = await store.job(id);
      expect(row?.state).toBe('failed');
      expect(row?.error).toMatch(/gone/);
      const next = await fresh.submit(job(), null);
      expect((await store.job(next))?.state).toBe('running');
      await fresh.stop();
    });

    it('loads a job once when a submission and the timer claim at the same time', async () => {
      const w = link('worker-0000001');
      scheduler.dispatcher.addWorker(w);
      scheduler.dispatcher.ready(w.id, 2); // connected and idle: each load dispatches at once
      const id = await store.createJob({ name: 'toy', spec: job({ globalBatch: 8, rounds: 1 }), totalRounds: 1, tokenId: null });
      await Promise.all([scheduler.claim(), scheduler.claim(), scheduler.tick()]);
      await settle();
      const a = (await assigned(w, 1))[0];
      await scheduler.result(w.id, result(a), gradient(a));
      await settle();
      expect(w.assigns()).toHaveLength(1);
      expect(await store.job(id)).toMatchObject({ state: 'done', round: 1 });
      expect((await store.metrics(id)).filter((m) => m.name === 'train_loss')).toHaveLength(1);
    });

    it('hands out nothing past the last round while the final evaluation runs', async () => {
      let release: (() => void) | undefined;
      const slowEval = () =>
        new Promise<{ loss: number; accuracy: number; samples: number }>((r) => {
          release = () => r({ loss: 1, accuracy: 0.5, samples: 8 });
        });
      const evaluating = new Scheduler({
        store,
        datasets,
        log: createLogger('error', () => true),
        metrics: new Metrics(),
        owner: 'eval',
        evaluator: slowEval,
      });
      await scheduler.stop();
      scheduler = evaluating;
      await scheduler.start();
      const id = await scheduler.submit(job({ globalBatch: 8, rounds: 1, evalEvery: 1, dataset: { name: 'toy', split: 'train', evalSplit: 'train' } }), null);
      const w = link('worker-0000001');
      scheduler.dispatcher.addWorker(w);
      scheduler.dispatcher.ready(w.id, 2);
      await settle();
      const a = (await assigned(w, 1))[0];
      const done = scheduler.result(w.id, result(a), gradient(a));
      await settle();
      scheduler.dispatcher.ready(w.id, 2);
      await settle();
      expect(w.assigns()).toHaveLength(1);
      // On a loaded machine the close may not have reached the evaluation yet: release it once it has.
      for (let i = 0; i < 500 && !release; i++) await settle();
      release?.();
      await done;
      expect(await store.job(id)).toMatchObject({ state: 'done', round: 1 });
    });

    it('hands a shard out again when every worker has let its lease lapse', async () => {
      let clock = 1_000_000;
      await scheduler.stop();
      scheduler = new Scheduler({ store, datasets, log: createLogger('error', () => true), metrics: new Metrics(), owner: 'clock', now: () => clock });
      await scheduler.start();
      await scheduler.submit(job({ globalBatch: 8, leaseMs: 1000 }), null);
      const [a, b] = [link('worker-a-0001'), link('worker-b-0001')];
      scheduler.dispatcher.addWorker(a);
      scheduler.dispatcher.addWorker(b);
      scheduler.dispatcher.ready(a.id, 1);
      await assigned(a, 1);
      scheduler.dispatcher.ready(b.id, 1); // b is idle: the round's only shard is a's
      clock += 2000;
      await scheduler.tick(); // a's lease lapses: the shard goes to b
      await assigned(b, 1);
      clock += 2000;
      await scheduler.tick(); // b's lapses too: both have failed it, so either may take it again
      scheduler.dispatcher.ready(a.id, 1);
      scheduler.dispatcher.ready(b.id, 1);
      await settle();
      expect(a.assigns().length + b.assigns().length).toBe(3);
    });
  });
