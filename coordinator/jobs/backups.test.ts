import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assigned, CSV, gradient, job, link, result, settle } from '../../test/scheduler-fixtures';
import { freshStore } from '../../test/stores';
import { DatasetRegistry } from '../data/dataset-registry';
import { Scheduler } from '../job-kinds';
import { createLogger } from '../log';
import { Metrics } from '../metrics';
import type { Store } from '../store/index';

// Rounds no straggler can hold: once nothing unleased is left, an idle fast worker leases a backup of a shard whose
// holder is far slower; the first valid result wins and the other lease is revoked.
describe('backup leases of late shards', () => {
  let store: Store;
  let scheduler: Scheduler;
  let clock = 1_000_000;
  const metrics = new Metrics();

  beforeEach(async () => {
    store = await freshStore('sqlite');
    const datasets = new DatasetRegistry(store, mkdtempSync(join(tmpdir(), 'grid-backup-')));
    await datasets.uploadCsv('toy', 'train', CSV);
    scheduler = new Scheduler({ store, datasets, log: createLogger('error', () => true), metrics, owner: 'test', now: () => clock });
    await scheduler.start();
  });
  afterEach(async () => {
    await scheduler.stop();
    await store.close();
  });

  it('backs up the slow worker once it is late, takes the first result and revokes the other lease', async () => {
    const id = await scheduler.submit(job({ rounds: 2 }), null);
    const slow = Object.assign(link('worker-slow-01', 1), { samplesPerSec: 2 });
    const fast = Object.assign(link('worker-fast-01', 2), { samplesPerSec: 80 });
    scheduler.dispatcher.addWorker(slow);
    scheduler.dispatcher.addWorker(fast);
    scheduler.dispatcher.ready(slow.id, 1);
    const [late] = await assigned(slow, 1);
    scheduler.dispatcher.ready(fast.id, 1);
    const [own] = await assigned(fast, 1);
    await scheduler.result(fast.id, result(own), gradient(own));
    await settle();
    expect(fast.assigns()).toHaveLength(1); // the slow worker's lease is fresh: not late yet

    clock += 1000; // the slow worker needs 4 s for its 8 samples; the fast one, as observed, far less
    await scheduler.tick(); // no event needed: the coordinator's timer offers the backup
    const [, backup] = await assigned(fast, 2);
    expect([backup.round, backup.shard]).toEqual([late.round, late.shard]);
    await scheduler.result(fast.id, result(backup), gradient(backup));
    await settle();
    expect((await store.job(id))?.round).toBe(1); // the round closed without the slow worker's result
    expect(slow.inbox).toContainEqual(expect.objectContaining({ type: 'revoke', assignmentId: late.assignmentId }));
    await expect(scheduler.result(slow.id, result(late), gradient(late))).rejects.toMatchObject({ code: 'STALE_RESULT' });
    expect(await metrics.backups.get()).toMatchObject({ values: [{ value: 1 }] });
  });

  it('leaves a holder that is only a little slower alone', async () => {
    await scheduler.submit(job({ rounds: 1 }), null);
    const a = Object.assign(link('worker-a-00001', 1), { samplesPerSec: 60 });
    const b = Object.assign(link('worker-b-00001', 2), { samplesPerSec: 80 });
    scheduler.dispatcher.addWorker(a);
    scheduler.dispatcher.addWorker(b);
    scheduler.dispatcher.ready(a.id, 1);
    await assigned(a, 1);
    scheduler.dispatcher.ready(b.id, 1);
    const [own] = await assigned(b, 1);
    clock += 100;
    await scheduler.result(b.id, result(own), gradient(own));
    clock += 100;
    scheduler.dispatcher.ready(b.id, 1);
    await settle();
    expect(b.assigns()).toHaveLength(1);
  });
});
