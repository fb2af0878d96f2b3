import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { startCoordinator } from '../coordinator/server';
import { api, type Proc, startTestCoordinator, startWorker, tempDir, waitUntil } from './helpers';

const TOKEN = 'gt_bandwidth_operator';
const CAP_MB = 0.4;
/** 2,000 samples of 20 features in 3 classes: a data set of about 160 kB once chunked. */
const CSV = Array.from({ length: 2000 }, (_, i) => [...Array.from({ length: 20 }, (_, k) => ((i * (k + 3)) % 17) / 17), i % 3].join(',')).join('\n');

type WorkerRow = { id: string; name: string; shardsDone: number; bytesUp: number; bytesDown: number; capabilities: { bytesPerHour?: number } };

// Bandwidth caps: a volunteer who allows 0.4 MB an hour moves no more than that (as the coordinator counted it),
// and the job completes on a worker without a cap.
describe('bandwidth budgets', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let url: string;
  const workers: Proc[] = [];

  beforeAll(async () => {
    const dir = tempDir('grid-bandwidth-');
    coord = await startTestCoordinator(dir, TOKEN, { maxFrameBytes: 16 << 20 });
    url = `http://127.0.0.1:${coord.port}`;
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await coord?.close();
  });

  it('keeps a capped worker under its cap while an uncapped one finishes the job', async () => {
    const upload = await fetch(`${url}/api/datasets/toy20/train`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: CSV });
    expect(upload.status).toBe(201);
    const capped = startWorker(url, TOKEN, 'capped', 'cpu', ['--max-mb-per-hour', String(CAP_MB), '--concurrency', '1']);
    workers.push(capped);
    await capped.waitFor(/"msg":"connected"/);
    const spec = {
      name: 'small',
      model: { kind: 'mlp', layers: [20, 64, 3] },
      dataset: { name: 'toy20', split: 'train' },
      optimizer: { kind: 'sgd', lr: 0.1 },
      globalBatch: 64,
      shardSize: 32,
      rounds: 60,
    };
    const { id } = await api<{ id: number }>(url, TOKEN, '/api/jobs', spec);
    await capped.waitFor(/"msg":"budget"/, 60_000); // it ran shards until the next would not fit
    workers.push(startWorker(url, TOKEN, 'uncapped'));
    await waitUntil('job done', async () => (await api<{ state: string }>(url, TOKEN, `/api/jobs/${id}`)).state === 'done', 120_000, 500).catch(async (e) => {
      console.log(JSON.stringify(await api(url, TOKEN, `/api/jobs/${id}`)), workers.map((w) => w.output.slice(-8).join('\n')).join('\n----\n'));
      throw e;
    });
    await new Promise((r) => setTimeout(r, 1500)); // the byte totals are written every second
    const rows = await api<WorkerRow[]>(url, TOKEN, '/api/workers');
    const c = rows.find((w) => w.name === 'capped');
    const u = rows.find((w) => w.name === 'uncapped');
    expect(c?.capabilities.bytesPerHour).toBe(CAP_MB * 1e6);
    expect(c?.shardsDone).toBeGreaterThan(0);
    expect(c?.bytesDown).toBeGreaterThan(150_000); // the data set came down to it
    console.log(`capped worker: ${c?.shardsDone} shards, ${c?.bytesUp} B up + ${c?.bytesDown} B down; uncapped: ${u?.shardsDone} shards`);
    expect((c?.bytesUp ?? 0) + (c?.bytesDown ?? 0)).toBeLessThanOrEqual(CAP_MB * 1e6);
    expect(u?.shardsDone).toBeGreaterThan(c?.shardsDone ?? 0);
    const job = await api<{ bytesUp: number; bytesDown: number }>(url, TOKEN, `/api/jobs/${id}`);
    expect(job.bytesUp).toBeGreaterThan(120 * 6000); // 120 results of 1,539 float32 parameters
  }, 180_000);
});
