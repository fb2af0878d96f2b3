import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, freshStore } from '../../test/stores';
import { FencedError, type Store } from '../store/index';
import { AssignmentLedger } from './assignment-ledger';

const lease = (shard: number, jobId = 1) => ({ jobId, round: 0, shard, workerId: `w${shard}`, leaseMs: 1000 });

for (const dialect of DIALECTS)
  describe(`assignment ledger on ${dialect}`, () => {
    let store: Store;
    let ledger: AssignmentLedger;
    let fence: { jobId: number; owner: string; epoch: number };

    beforeEach(async () => {
      store = await freshStore(dialect, () => 5_000);
      ledger = new AssignmentLedger(store, () => 5_000);
      const jobId = await store.createJob({ name: 'j', spec: {}, totalRounds: 1, tokenId: null });
      const [claimed] = await store.claimJobs('c1', 10_000);
      fence = { jobId, owner: 'c1', epoch: claimed.owner_epoch };
    });
    afterEach(() => store.close());

    it('hands out ids from a reserved block without touching the store, and ids no other coordinator gets', async () => {
      expect(ledger.open(lease(0))).toBeUndefined(); // nothing reserved yet: the caller waits for a block
      await ledger.reserve();
      const other = new AssignmentLedger(store, () => 5_000);
      await other.reserve();
      const ids = [0, 1, 2].map((s) => ledger.open(lease(s)) as number);
      const theirs = [0, 1, 2].map((s) => other.open(lease(s)) as number);
      expect(new Set([...ids, ...theirs]).size).toBe(6);
      expect(await store.assignments(fence.jobId)).toEqual([]);
    });

    it('ends a lease in memory before its row is written, and writes the row as it stands', async () => {
      await ledger.reserve();
      const [a, b] = [ledger.open(lease(0)) as number, ledger.open(lease(1)) as number];
      await ledger.finish(a, 'released');
      await ledger.flush(fence);
      await ledger.finish(b, 'expired'); // written by now: ended in the store
      const rows = await store.assignments(fence.jobId);
      expect(rows.map((r) => [r.id, r.state, r.lease_until])).toEqual([
        [a, 'released', 6_000],
        [b, 'expired', 6_000],
      ]);
    });

    it('keeps the rows of a transaction that failed for the next, and ends a lease whose row was being written once it lands', async () => {
      await ledger.reserve();
      const a = ledger.open(lease(0)) as number;
      const failing = ledger.writeWith(fence.jobId, () => Promise.reject(new Error('database went away')));
      const ended = ledger.finish(a, 'released'); // arrives while the row is in that transaction
      await expect(failing).rejects.toThrow('database went away');
      await ended;
      await ledger.flush({ ...fence, epoch: fence.epoch + 1 }).catch((e) => expect(e).toBeInstanceOf(FencedError));
      expect(await store.assignments(fence.jobId)).toEqual([]); // another owner's fence writes nothing
      expect([...ledger.jobs()]).toEqual([fence.jobId]);
      await ledger.flush(fence);
      expect((await store.assignments(fence.jobId)).map((r) => [r.id, r.state])).toEqual([[a, 'released']]);
      expect([...ledger.jobs()]).toEqual([]);
    });

    it('writes a result only after the transaction writing its lease row has landed', async () => {
      await ledger.reserve();
      const a = ledger.open(lease(0)) as number;
      let land = () => {};
      const held = new Promise<void>((r) => {
        land = r;
      });
      const close = ledger.writeWith(fence.jobId, (rows) => held.then(() => store.insertAssignments(rows)));
      const order: string[] = [];
      const result = ledger.writeWith(
        fence.jobId,
        async (rows) => {
          order.push(`result with ${rows.length} rows`);
          await store.finishAssignment(a, 'done');
        },
        a,
      );
      await new Promise((r) => setTimeout(r, 20));
      expect(order).toEqual([]); // waits for the close that holds its row
      land();
      await Promise.all([close, result]);
      expect(order).toEqual(['result with 0 rows']);
      expect((await store.assignments(fence.jobId)).map((r) => r.state)).toEqual(['done']);
    });

    it('forgets the rows of a job it no longer runs', async () => {
      await ledger.reserve();
      ledger.open(lease(0));
      ledger.open(lease(0, fence.jobId + 1));
      ledger.forget(fence.jobId);
      expect([...ledger.jobs()]).toEqual([fence.jobId + 1]);
    });
  });
