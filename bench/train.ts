import { join } from 'node:path';
import { startCoordinator } from '../coordinator/server';
import { api, type Proc, startWorker, tempDir } from '../test/helpers';

const TARGET = Number(process.env.BENCH_TARGET ?? 0.88);
const MAX_EPOCHS = Number(process.env.BENCH_MAX_EPOCHS ?? 12);
const BACKEND = process.env.BENCH_WORKER_BACKEND ?? 'vulkan';
const TOKEN = 'gt_bench_operator';

interface Outcome {
  label: string;
  workers: number;
  reached: boolean;
  accuracy: number;
  seconds: number;
  samplesPerSecond: number;
  bytesPerRound: number;
}

const base = {
  model: { kind: 'mlp', layers: [784, 256, 128, 10] },
  dataset: { name: 'fashion-mnist', split: 'train', evalSplit: 'test' },
  optimizer: { kind: 'adamw', lr: 0.002, weightDecay: 0 },
  globalBatch: 512,
  shardSize: 128,
  epochs: MAX_EPOCHS,
  checkpointEvery: 100,
  evalEvery: 59, // about half an epoch, on the whole 10k test set
  leaseMs: 60_000,
};

/** Train the full Fashion-MNIST MLP until test accuracy reaches TARGET (or MAX_EPOCHS); time it. */
async function run(label: string, workers: number, over: Record<string, unknown> = {}): Promise<Outcome> {
  const dir = tempDir('grid-bench-');
  const quiet = { debug() {}, info() {}, warn() {}, error: console.error };
  const coord = await startCoordinator({
    port: 0,
    host: '127.0.0.1',
    databaseUrl: `sqlite:${join(dir, 'grid.db')}`,
    dataDir: dir,
    webDir: join(dir, 'web'),
    enrolment: false,
    operatorToken: TOKEN,
    maxFrameBytes: 64 << 20,
    maxBodyBytes: 1 << 20,
    heartbeatMs: 5000,
    log: quiet,
  });
  const url = `http://127.0.0.1:${coord.port}`;
  const procs: Proc[] = Array.from({ length: workers }, (_, i) => startWorker(url, TOKEN, `bench-${i}`, BACKEND));
  await Promise.all(procs.map((p) => p.waitFor(/backend ready/)));
  const t0 = performance.now();
  const { id } = await api<{ id: number }>(url, TOKEN, '/api/jobs', { name: label, ...base, ...over });
  let accuracy = 0;
  let reached = false;
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const m = await api<{ name: string; value: number }[]>(url, TOKEN, `/api/jobs/${id}/metrics`);
    accuracy = Math.max(0, ...m.filter((x) => x.name === 'test_accuracy').map((x) => x.value));
    const job = await api<{ state: string }>(url, TOKEN, `/api/jobs/${id}`);
    if (accuracy >= TARGET) reached = true;
    if (reached || job.state === 'done') break;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (!reached) await coord.scheduler.idle();
  await api(url, TOKEN, `/api/jobs/${id}/cancel`, {}).catch(() => {});
  const results = (await coord.store.results(id)).filter((r) => r.accepted);
  const rounds = new Set(results.map((r) => r.round)).size;
  const samples = results.reduce((s, r) => s + r.samples, 0);
  for (const p of procs) p.child.kill('SIGKILL');
  await coord.close();
  return { label, workers, reached, accuracy, seconds, samplesPerSecond: samples / seconds, bytesPerRound: results.reduce((s, r) => s + r.bytes, 0) / rounds };
}

export async function benchTrain() {
  console.log(`Fashion-MNIST MLP 784-256-128-10 to ${TARGET * 100}% test accuracy (max ${MAX_EPOCHS} epochs), workers on ${BACKEND}`);
  const runs: Outcome[] = [];
  const print = (r: Outcome) => {
    const one = runs[0];
    const efficiency = r.label.startsWith('sync fp32')
      ? ` | scaling efficiency ${((r.samplesPerSecond / one.samplesPerSecond / r.workers) * 100).toFixed(0)}%`
      : '';
    console.log(
      `${r.label.padEnd(38)} | ${r.reached ? 'reached' : 'NOT reached'} ${(r.accuracy * 100).toFixed(2)}% in ${r.seconds.toFixed(0)} s | ${r.samplesPerSecond.toFixed(0)} samples/s${efficiency} | ${(r.bytesPerRound / 1e6).toFixed(2)} MB sent per round (${(r.bytesPerRound / one.bytesPerRound).toFixed(2)}x fp32 sync)`,
    );
  };
  const add = async (r: Promise<Outcome>) => {
    runs.push(await r);
    print(runs[runs.length - 1]);
  };
  const counts = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
  for (const n of counts) await add(run(`sync fp32, ${n} worker(s)`, n));
  await add(run('local-step H=4 (DiLoCo), 2 workers', 2, { mode: 'local', local: { steps: 4, lr: 0.001, outerLr: 0.7, outerMomentum: 0.9 }, evalEvery: 15 }));
  await add(run('sync int8 results, 2 workers', 2, { encoding: 'int8' }));
}
