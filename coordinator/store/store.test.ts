import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, freshStore } from '../../test/stores';
import { FencedError, type Store } from './index';

// The same suite runs on the embedded SQLite store and on a real MariaDB started by test/global-setup.ts.
/** A lease's row as the ledger writes it: an id reserved, then the row with it (assignment-ledger.ts). */
async function leaseRow(store: Store, job: number, shard: number, worker: string) {
  const id = await store.reserveAssignmentIds(1);
  const now = 1_000_000;
  await store.insertAssignments([
    { id, job_id: job, round: 0, shard, worker_id: worker, state: 'leased', lease_until: now + 5000, created_at: now, finished_at: null },
  ]);
  return id;
}

for (const dialect of DIALECTS) {
  describe(`store on ${dialect}`, () => {
    let store: Store;
    let clock = 1_000_000;
    beforeEach(async () => {
      clock = 1_000_000;
      store = await freshStore(dialect, () => clock);
    });
    afterEach(() => store.close());

    it('reports its dialect', () => expect(store.dialect).toBe(dialect));

    it('creates, finds and revokes hashed tokens', async () => {
      const id = await store.createToken({ name: 'ops', hash: 'a'.repeat(64), scopes: ['operator', 'researcher'], ratePerMin: 600 });
      const t = await store.tokenByHash('a'.repeat(64));
      expect(t).toMatchObject({ id, name: 'ops', scopes: 'operator,researcher', rate_per_min: 600 });
      expect(await store.revokeToken(id)).toBe(true);
      expect(await store.revokeToken(id)).toBe(false);
      expect(await store.tokenByHash('a'.repeat(64))).toBeUndefined();
      await expect(store.createToken({ name: 'dup', hash: 'a'.repeat(64), scopes: [], ratePerMin: 1 })).rejects.toThrow();
    });

    it('round-trips job specs and guards state transitions', async () => {
      const spec = { name: 'j', model: { kind: 'mlp', layers: [4, 3] }, nested: { x: [1, 2.5] } };
      const id = await store.createJob({ name: 'j', spec, totalRounds: 7, tokenId: null });
      const job = await store.job(id);
      expect(JSON.parse(job!.spec)).toEqual(spec);
      expect(job).toMatchObject({ state: 'queued', round: 0, total_rounds: 7, created_at: 1_000_000 });
      expect(await store.setJobState(id, 'running', ['queued'])).toBe(true);
      expect(await store.setJobState(id, 'running', ['queued'])).toBe(false);
      await store.setJobProgress(id, 3, 3);
      expect(await store.job(id)).toMatchObject({ state: 'running', round: 3, params_version: 3 });
      expect((await store.listJobs()).map((j) => j.id)).toEqual([id]);
    });

    it('hands job ownership to another coordinator only after the lease expires', async () => {
      const id = await store.createJob({ name: 'j', spec: {}, totalRounds: 1, tokenId: null });
      expect((await store.claimJobs('coord-a', 10_000)).map((j) => j.id)).toEqual([id]);
      expect(await store.claimJobs('coord-b', 10_000)).toEqual([]);
      clock += 10_001;
      const [taken] = await store.claimJobs('coord-b', 10_000);
      expect(taken).toMatchObject({ id, owner: 'coord-b', owner_epoch: 2 });
      expect(await store.claimJobs('coord-a', 10_000)).toEqual([]);
      // The old owner wakes up: every write it fences on its epoch is refused; the new owner's pass.
      await expect(store.fence({ jobId: id, owner: 'coord-a', epoch: 1 })).rejects.toBeInstanceOf(FencedError);
      await store.fence({ jobId: id, owner: 'coord-b', epoch: 2 });
      expect((await store.claimJobs('coord-b', 10_000))[0].owner_epoch).toBe(2); // renewal keeps the epoch
    });

    it('finishes a lease once and expires leftover leases', async () => {
      const job = await store.createJob({ name: 'j', spec: {}, totalRounds: 1, tokenId: null });
      const a = await leaseRow(store, job, 0, 'w1');
      const b = await leaseRow(store, job, 1, 'w2');
      expect(await store.finishAssignment(a, 'done')).toBe(true);
      expect(await store.finishAssignment(a, 'expired')).toBe(false);
      await store.expireOpenAssignments(job);
      const rows = await store.assignments(job, 0);
      expect(rows.map((r) => [r.id, r.state, r.lease_until])).toEqual([
        [a, 'done', 1_005_000],
        [b, 'expired', 1_005_000],
      ]);
    });

    it('reserves disjoint blocks of lease ids, however many coordinators ask at once, past the ids already used', async () => {
      const job = await store.createJob({ name: 'j', spec: {}, totalRounds: 1, tokenId: null });
      const used = await leaseRow(store, job, 0, 'w1');
      const firsts = await Promise.all(Array.from({ length: 8 }, () => store.reserveAssignmentIds(100)));
      const ids = firsts.flatMap((first) => Array.from({ length: 100 }, (_, i) => first + i));
      expect(new Set(ids).size).toBe(800);
      expect(Math.min(...ids)).toBeGreaterThan(used);
    });

    it('registers workers under the token that owns their id and credits reputation', async () => {
      expect(await store.registerWorker({ id: 'w1', tokenId: 7, name: 'n', kind: 'native', capabilities: { cores: 2 } })).toBe('ok');
      expect(await store.registerWorker({ id: 'w1', tokenId: 7, name: 'n2', kind: 'native', capabilities: { cores: 4 } })).toBe('ok');
      expect(await store.registerWorker({ id: 'w1', tokenId: 8, name: 'thief', kind: 'native', capabilities: {} })).toBe('taken');
      await store.setWorkerState('w1', 'quarantined');
      await store.setWorkerState('w1', 'offline'); // leaving does not lift a quarantine
      expect(await store.registerWorker({ id: 'w1', tokenId: 7, name: 'n', kind: 'native', capabilities: {} })).toBe('quarantined');
      expect(await store.registerWorker({ id: 'w2', tokenId: 7, name: 'n', kind: 'native', capabilities: {} }, true)).toBe('quarantined');
      expect(await store.registerWorker({ id: 'w2', tokenId: 7, name: 'n', kind: 'native', capabilities: {} })).toBe('ok');
      expect(await store.judgeWorker('w2', (r) => r / 4, 1)).toBe(0.25);
      const w = await store.worker('w2');
      expect(w).toMatchObject({ shards_done: 1, state: 'online', reputation: 0.25 });
      expect((await store.worker('w1'))?.state).toBe('quarantined');
      expect(JSON.parse((await store.worker('w1'))!.capabilities)).toEqual({ cores: 4 });
    });

    it('keeps each worker’s verified results, so standing outlives the coordinator that saw them', async () => {
      for (const id of ['w-known', 'w-fresh']) await store.registerWorker({ id, tokenId: 9, name: id, kind: 'browser', capabilities: {} });
      for (let i = 0; i < 3; i++) await store.addVerified('w-known');
      const counts = await store.verifiedCounts(['w-known', 'w-fresh', 'w-unknown']);
      expect([...counts].sort()).toEqual([
        ['w-fresh', 0],
        ['w-known', 3],
      ]);
      expect(await store.verifiedCounts([])).toEqual(new Map());
      await store.resetVerified('w-known'); // caught lying: standing is earned again from nothing
      expect((await store.verifiedCounts(['w-known'])).get('w-known')).toBe(0);
    });

    it('stores a model once by hash, its bytes in parts', async () => {
      const data = new Uint8Array((1 << 20) + 5).map((_, i) => i % 251);
      const row = { sha256: 'a'.repeat(64), name: 'm', token_id: 3, bytes: data.byteLength, opset: 17, inputs: '[]', outputs: '[]' };
      expect(await store.putModel(row, data)).toBe(true);
      expect(await store.putModel(row, data)).toBe(false);
      expect(await store.modelData(row.sha256)).toEqual(Buffer.from(data));
      expect((await store.listModels(3)).map((m) => m.sha256)).toEqual([row.sha256]);
      expect(await store.listModels(4)).toEqual([]);
    });

    it('keeps inference outputs that an accepted result stands behind, and the providers that ran them', async () => {
      const job = await store.createJob({ name: 'i', spec: {}, totalRounds: 2, tokenId: null });
      const fence = { jobId: job, owner: 'c1', epoch: 1 };
      await store.claimJobs('c1', 10_000);
      const bytes = (n: number) => Uint8Array.from({ length: 8 }, (_, i) => n + i);
      for (const [shard, worker, provider] of [
        [1, 'w1', 'ort-node cpu'],
        [0, 'w2', 'ort-web wasm'],
        [1, 'w2', 'ort-web wasm'],
      ] as const) {
        const assignment = await leaseRow(store, job, shard, worker);
        const row = { assignment_id: assignment, job_id: job, round: 0, shard, worker_id: worker, samples: 2, loss: 0, norm: 0, bytes: 8 };
        await store.recordOutcome({ ...row, encoding: 'f32', accepted: 1, reason: null, points: 0 }, (r) => r, fence, {
          also: (tx) =>
            tx.putOutput({ assignment_id: assignment, job_id: job, shard, worker_id: worker, provider, dtype: 'f32', count: 2, data: bytes(10 * assignment) }),
        });
      }
      const all = await store.outputs(job);
      expect(all.map((o) => [o.shard, o.worker_id])).toEqual([
        [0, 'w2'],
        [1, 'w1'],
        [1, 'w2'],
      ]);
      expect(all[0].data).toEqual(bytes(10 * all[0].assignment_id)); // bytes back as a Uint8Array on both dialects
      expect(await store.providerMix(job)).toEqual({ 'ort-node cpu': 1, 'ort-web wasm': 2 });
      await store.discardResults([all[2].assignment_id], 'MISMATCH'); // an outvoted output no longer counts
      expect((await store.outputs(job)).map((o) => o.worker_id)).toEqual(['w2', 'w1']);
      expect(await store.providerMix(job)).toEqual({ 'ort-node cpu': 1, 'ort-web wasm': 1 });
    });

    it('keeps checkpoints, metrics, results, audit events and data sets', async () => {
      const big = Uint8Array.from({ length: (5 << 20) / 2 + 7 }, (_, i) => (i * 31) % 251); // 2.5 MB: three parts
      await store.addCheckpoint({ jobId: 1, round: 10, sha256: 'f'.repeat(64), data: big });
      await store.addCheckpoint({ jobId: 1, round: 20, sha256: 'e'.repeat(64), data: new Uint8Array(12) });
      const latest = await store.latestCheckpoint(1);
      expect(latest).toMatchObject({ round: 20, bytes: 12 });
      const first = (await store.checkpoints(1))[0];
      expect(first.bytes).toBe(big.length);
      expect(Buffer.from(await store.checkpointData(first.id)).equals(Buffer.from(big))).toBe(true);
      await store.addMetrics(1, 3, { loss: 0.5, accuracy: 0.875 });
      const m = await store.metrics(1);
      expect(m.map((r) => [r.round, r.name, r.value])).toEqual([
        [3, 'loss', 0.5],
        [3, 'accuracy', 0.875],
      ]);
      expect(await store.metrics(1, m[1].id)).toEqual([]);
      // A language model's text at its evaluations: the latest first; an evaluation again replaces; a takeover rewrites.
      const written = (prompt: string, text: string) => ({ prompt, text });
      await store.setTextSamples(1, 10, [written('The ', 'cat sat'), written('ünï ', 'côdé 😀')]);
      await store.setTextSamples(1, 20, [written('The ', 'first try')]);
      await store.setTextSamples(1, 20, [written('The ', 'dog ran')]);
      const texts = async () => (await store.textSamples(1)).map((r) => [Number(r.round), Number(r.seq), r.prompt + r.text]);
      expect(await texts()).toEqual([
        [20, 0, 'The dog ran'],
        [10, 0, 'The cat sat'],
        [10, 1, 'ünï côdé 😀'],
      ]);
      await store.supersedeAfter(1, 10);
      expect((await texts()).map(([round]) => round)).toEqual([10, 10]);
      await store.recordResult({
        assignment_id: 1,
        job_id: 1,
        round: 0,
        shard: 0,
        worker_id: 'w',
        samples: 64,
        loss: 2.3,
        norm: 1.5,
        bytes: 100,
        encoding: 'fp32',
        accepted: 1,
        reason: null,
        points: 0.5,
      });
      expect((await store.results(1, 0))[0]).toMatchObject({ samples: 64, loss: 2.3, accepted: 1 });
      await store.audit('token:1', 'job.create', 'job:1', { x: 1 });
      expect((await store.auditEvents())[0]).toMatchObject({ actor: 'token:1', action: 'job.create', detail: '{"x":1}' });
      await store.putDataset({ name: 'd', split: 'train', source: 's', samples: 3, classes: 2, manifest: { chunks: [] } });
      await store.putDataset({ name: 'd', split: 'train', source: 's2', samples: 4, classes: 2, manifest: { chunks: [1] } });
      expect(await store.dataset('d', 'train')).toMatchObject({ source: 's2', samples: 4, manifest: '{"chunks":[1]}' });
    });

    it("keeps an uploaded data set's file with its rows, in parts, read back whole; a new upload replaces it whole", async () => {
      const bytes = new Uint8Array(2.5 * (1 << 20)).map((_, i) => (i * 7) % 251);
      const row = (split: string) => ({ name: 'corpus', split, source: 'text:64:/a/corpus.text.txt', samples: 9, classes: 60, manifest: {} });
      // Chunks of any size (a file stream's) are stored in parts of at most 1 MiB: mediumblob holds 16 MB, one chunk may not fit.
      await store.putDatasets([row('train'), row('validation')], { name: 'corpus.text.txt', parts: () => [bytes.subarray(0, 100), bytes.subarray(100)] });
      const read = async () => {
        const parts: Uint8Array[] = [];
        for await (const p of store.datasetFile('corpus.text.txt')) parts.push(p);
        return parts;
      };
      const parts = await read();
      expect(parts.map((p) => p.byteLength)).toEqual([100, 1 << 20, 1 << 20, bytes.byteLength - 100 - (2 << 20)]);
      expect(Buffer.concat(parts).equals(Buffer.from(bytes))).toBe(true);
      expect([await store.hasDatasetFile('corpus.text.txt'), await store.hasDatasetFile('other.csv')]).toEqual([true, false]);
      expect((await store.listDatasets()).map((d) => d.split)).toEqual(['train', 'validation']);
      await store.putDatasets([row('train')], { name: 'corpus.text.txt', parts: () => [new Uint8Array([1, 2, 3])] });
      expect((await read()).map((p) => Array.from(p))).toEqual([[1, 2, 3]]);
    });
  });
}
