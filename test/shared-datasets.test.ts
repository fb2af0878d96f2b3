import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { startCoordinator } from '../coordinator/server';
import { api, type Proc, startTestCoordinator, startWorker, tempDir, waitUntil } from './helpers';
import { freshDatabaseUrl } from './stores';

const TOKEN = 'gt_shared_datasets';
/** 600 samples of 6 features in 3 classes. */
const CSV = Array.from({ length: 600 }, (_, i) => [...Array.from({ length: 6 }, (_, k) => ((i * (k + 2)) % 13) / 13), i % 3].join(',')).join('\n');
const TEXT = 'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. '.repeat(30);

type Manifest = { samples: number; chunks: { sha256: string }[] };

// Two coordinators on one MariaDB with data dirs of their own, as on two hosts: what is uploaded to one is served
// and trained on by the other, which has never seen the upload (the data set's file is in the database).
describe('data sets shared by the coordinators on one database', () => {
  let a: Awaited<ReturnType<typeof startCoordinator>>;
  let b: Awaited<ReturnType<typeof startCoordinator>>;
  let worker: Proc | undefined;
  const url = (c: { port: number }) => `http://127.0.0.1:${c.port}`;
  const fetchFrom = (c: { port: number }, path: string, body?: string) =>
    fetch(`${url(c)}${path}`, { method: body ? 'POST' : 'GET', headers: { authorization: `Bearer ${TOKEN}` }, body });

  beforeAll(async () => {
    const databaseUrl = await freshDatabaseUrl('mysql');
    a = await startTestCoordinator(tempDir('grid-shared-a-'), TOKEN, { databaseUrl });
    b = await startTestCoordinator(tempDir('grid-shared-b-'), TOKEN, { databaseUrl });
  }, 60_000);
  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await b?.close();
  });

  it('serves what was uploaded to the other, chunk for chunk', async () => {
    expect((await fetchFrom(a, '/api/datasets/toy6/train', CSV)).status).toBe(201);
    expect((await fetchFrom(a, '/api/datasets/austen/train?format=text&blockSize=16', TEXT)).status).toBe(201);
    for (const [name, split] of [
      ['toy6', 'train'],
      ['austen', 'train'],
      ['austen', 'validation'],
    ]) {
      const [here, there] = await Promise.all([a, b].map((c) => api<Manifest>(url(c), TOKEN, `/api/datasets/${name}/${split}`)));
      expect(there).toEqual(here);
      const chunk = async (c: { port: number }) => Buffer.from(await (await fetchFrom(c, `/api/datasets/${name}/${split}/chunks/0`)).arrayBuffer());
      expect((await chunk(b)).equals(await chunk(a))).toBe(true);
    }
    expect((await fetchFrom(b, '/api/datasets/nothing/train')).status).toBe(404);
  });

  it('trains a job on it on the other coordinator, whose worker fetches the chunks from there', async () => {
    const spec = {
      name: 'elsewhere',
      model: { kind: 'mlp', layers: [6, 16, 3] },
      dataset: { name: 'toy6', split: 'train' },
      optimizer: { kind: 'sgd', lr: 0.1 },
      globalBatch: 64,
      shardSize: 32,
      rounds: 30,
      workers: 'native',
    };
    // a, which took the upload, is gone (so it cannot claim the job either): b builds the data set from the database.
    await a.close();
    worker = startWorker(url(b), TOKEN, 'on-b');
    await worker.waitFor(/"msg":"connected"/);
    const { id } = await api<{ id: number }>(url(b), TOKEN, '/api/jobs', spec);
    // While it runs, b's /metrics has the job's own series: its round's shards by state, its workers, its bytes.
    const series = await waitUntil(
      'per-job series',
      async () => {
        const text = await (await fetch(`${url(b)}/metrics`)).text();
        const bytes = Number(new RegExp(`^grid_job_bytes_total\\{job="${id}",direction="down"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
        return bytes > 0 && new RegExp(`^grid_job_workers\\{job="${id}"\\} 1$`, 'm').test(text) && text;
      },
      20_000,
      20,
    );
    expect(series).toMatch(new RegExp(`^grid_job_shards\\{job="${id}",state="pending"\\} \\d+$`, 'm'));
    const job = await waitUntil('job done', async () => {
      const j = await api<{ state: string; round: number }>(url(b), TOKEN, `/api/jobs/${id}`);
      return j.state === 'done' && j;
    });
    expect(job.round).toBe(30);
  }, 120_000);
});
