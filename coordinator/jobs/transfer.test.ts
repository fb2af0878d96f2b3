import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshStore } from '../../test/stores';
import type { Store } from '../store/index';
import { RecentSamples, TransferLedger } from './transfer';

describe('transfer ledger', () => {
  let store: Store;
  beforeEach(async () => {
    store = await freshStore('sqlite');
  });
  afterEach(() => store.close());

  it('adds what each worker and each job moved to their running totals, once per flush', async () => {
    const job = await store.createJob({ name: 'j', spec: {}, totalRounds: 1, tokenId: null });
    await store.registerWorker({ id: 'worker-0001', tokenId: null, name: 'w', kind: 'native', capabilities: {} });
    const ledger = new TransferLedger();
    ledger.add('down', 1000, 'worker-0001', job);
    ledger.add('up', 300, 'worker-0001', job);
    ledger.add('down', 50, 'worker-0001'); // a data chunk: no job
    ledger.add('up', 7, undefined, job); // nobody to charge but the job
    await ledger.flush(store);
    await ledger.flush(store); // nothing new: totals unchanged
    expect(await store.worker('worker-0001')).toMatchObject({ bytes_down: 1050, bytes_up: 300 });
    expect(await store.job(job)).toMatchObject({ bytes_down: 1000, bytes_up: 307 });
  });

  it('counts the samples of accepted results over a sliding minute', () => {
    const t = new RecentSamples();
    t.add(600, 1_000);
    t.add(1200, 30_000);
    expect(t.perSecond(30_000)).toBe(30);
    expect(t.perSecond(61_000)).toBe(20); // the first has aged out
    expect(t.perSecond(200_000)).toBe(0);
  });
});
