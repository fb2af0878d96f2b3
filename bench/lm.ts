import { join } from 'node:path';
import { textDatasets } from '../coordinator/data/text';
import { startCoordinator } from '../coordinator/server';
import { gatherBatch } from '../protocol/dataset';
import { parseTrainingSpec } from '../protocol/job';
import { api, jobMetrics, startWorker, tempDir } from '../test/helpers';
import { brownText } from './brown';
import { plainModel, plainSteps } from './plain-train';

const TOKEN = 'gt_bench_lm';
const CHARS = Number(process.env.BENCH_LM_CHARS ?? 1_000_000);
const ITERS = Number(process.env.BENCH_LM_ITERS ?? 2000);
const BLOCK = 64;
const LARGE_ITERS = Number(process.env.BENCH_LM_LARGE_ITERS ?? 30);
const LARGE_BLOCK = 256;

/** nanoGPT's "CPU" configuration: 4 layers, 4 heads, 128 wide, block 64, batch 12, lr 1e-3, dropout 0. */
const job = (vocab: number) => ({
  name: 'lm-bench',
  model: { kind: 'gpt', vocab, blockSize: BLOCK, nLayer: 4, nHead: 4, nEmbd: 128 },
  dataset: { name: 'brown', split: 'train', evalSplit: 'validation' },
  optimizer: { kind: 'adamw', lr: 1e-3, weightDecay: 0.1 },
  rounds: ITERS,
  globalBatch: 12,
  shardSize: 12,
  evalEvery: ITERS,
  evalSamples: 500,
  checkpointEvery: ITERS,
  leaseMs: 120_000,
});

/** nanoGPT's 10.7M configuration (6 layers, 6 heads, 384 wide, block 256) at batch 4: CPU-sized steps of 1,024 tokens. */
const largeJob = (vocab: number) => ({
  ...job(vocab),
  model: { kind: 'gpt', vocab, blockSize: LARGE_BLOCK, nLayer: 6, nHead: 6, nEmbd: 384 },
  rounds: LARGE_ITERS,
  globalBatch: 4,
  shardSize: 4,
  evalEvery: LARGE_ITERS,
  evalSamples: 16,
  checkpointEvery: LARGE_ITERS,
});

/**
 * The grid: one coordinator, `workers` native workers on onnxruntime-node; seconds, the validation figures, and the
 * seconds from the first result computed to the last (steady state: the worker's engine timing at a model's first
 * shard left out).
 */
async function onGrid(text: Uint8Array, vocab: number, workers: number, over: Record<string, unknown> = {}, block = BLOCK) {
  const dir = tempDir('grid-bench-lm-');
  const quiet = { debug() {}, info() {}, warn() {}, error: console.error };
  const coord = await startCoordinator({
    ...{ port: 0, host: '127.0.0.1', databaseUrl: `sqlite:${join(dir, 'grid.db')}`, dataDir: dir, webDir: join(dir, 'web') },
    ...{ enrolment: false, operatorToken: TOKEN, maxFrameBytes: 64 << 20, maxBodyBytes: 64 << 20, heartbeatMs: 5000, log: quiet },
  });
  const url = `http://127.0.0.1:${coord.port}`;
  await fetch(`${url}/api/datasets/brown/train?format=text&blockSize=${block}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: text });
  const procs = Array.from({ length: workers }, (_, i) => startWorker(url, TOKEN, `lm-${i}`, 'cpu', ['--log-shards']));
  // Workers already on the grid when the job arrives: their own start-up (engine timing at launch) is not the job's.
  await Promise.all(procs.map((p) => p.waitFor(/"msg":"connected"/)));
  const t0 = performance.now();
  const { id } = await api<{ id: number }>(url, TOKEN, '/api/jobs', { ...job(vocab), ...over });
  while ((await api<{ state: string }>(url, TOKEN, `/api/jobs/${id}`)).state !== 'done') await new Promise((r) => setTimeout(r, 1000));
  const seconds = (performance.now() - t0) / 1000;
  const computed = procs.flatMap((p) => p.output.filter((l) => l.includes('"msg":"computed"')).map((l) => Date.parse(JSON.parse(l).t)));
  const steady = { seconds: (Math.max(...computed) - Math.min(...computed)) / 1000, rounds: computed.length - 1 };
  const metrics = await jobMetrics(url, TOKEN, id);
  const last = (name: string) => metrics.filter((m) => m.name === name).at(-1)?.value ?? Number.NaN;
  await coord.scheduler.transfers.flush(coord.store);
  const bytes = (await coord.store.listWorkers()).reduce((n, w) => n + Number(w.bytes_up) + Number(w.bytes_down), 0);
  const sample = await api<{ text: string }>(url, TOKEN, `/api/jobs/${id}/generate`, { prompt: 'The ', maxTokens: 200, temperature: 0.8, topK: 20 });
  for (const p of procs) p.child.kill('SIGKILL');
  await coord.close();
  return { seconds, steady, loss: last('test_loss'), bpc: last('test_bits_per_char'), bytes, sample: sample.text };
}

/** The same job in one plain process on onnxruntime-node: no coordinator, no sockets. */
async function plain(text: Uint8Array, vocab: number, spec = parseTrainingSpec(job(vocab)), block = BLOCK) {
  const { train, validation } = textDatasets('brown', text, block);
  const model = await plainModel(spec);
  const t0 = performance.now();
  const { params } = await plainSteps(spec, model, train, spec.rounds ?? ITERS);
  const seconds = (performance.now() - t0) / 1000;
  const all = gatherBatch(
    validation.manifest,
    (c) => validation.chunks[c],
    Uint32Array.from({ length: Math.min(spec.evalSamples ?? 500, validation.manifest.samples) }, (_, i) => i),
  );
  const { loss } = await model.evaluate(params, all, 100);
  return { seconds, loss, bpc: loss / Math.LN2 };
}

export async function benchLm() {
  const text = new TextEncoder().encode(brownText(CHARS));
  const vocab = new Set(new TextDecoder().decode(text)).size;
  console.log(
    `character-level GPT (nanoGPT's CPU configuration: 4 layers, 4 heads, 128 wide, block 64, batch 12, ${ITERS} iterations) on ${CHARS} characters of the Brown Corpus (${vocab} characters)`,
  );
  // BENCH_LM_RUNS picks among cpu (nanoGPT's CPU configuration, plain and grid), volunteer (its volunteer mode) and large (10.7M).
  const wanted = new Set((process.env.BENCH_LM_RUNS ?? 'cpu,volunteer').split(','));
  if (wanted.has('large')) await benchLarge(text, vocab);
  if (!wanted.has('cpu') && !wanted.has('volunteer')) return;
  const base = await plain(text, vocab);
  console.log(
    `plain process, onnxruntime-node: validation ${base.loss.toFixed(3)} nats/char (${base.bpc.toFixed(3)} bits/char) in ${base.seconds.toFixed(0)} s`,
  );
  const one = await onGrid(text, vocab, 1);
  console.log(
    `grid, 1 native worker: validation ${one.loss.toFixed(3)} nats/char (${one.bpc.toFixed(3)} bits/char) in ${one.seconds.toFixed(0)} s | grid/plain ${(one.seconds / base.seconds).toFixed(2)} (goal <= 1.5) | ${(one.bytes / 1e6).toFixed(0)} MB moved`,
  );
  console.log(`sample: ${JSON.stringify(`The ${one.sample}`)}`);
  if (wanted.has('volunteer')) {
    const local = {
      mode: 'local',
      local: { steps: 16, lr: 0.001, outerLr: 0.7, outerMomentum: 0.9 },
      encoding: 'int8',
      download: 'int8-delta',
      rounds: Math.ceil(ITERS / 16),
      globalBatch: 24,
    };
    const two = await onGrid(text, vocab, 2, { ...local, evalEvery: Math.ceil(ITERS / 16), checkpointEvery: Math.ceil(ITERS / 16) });
    console.log(
      `grid, 2 workers in volunteer mode (local steps H=16, int8 both ways): validation ${two.loss.toFixed(3)} nats/char in ${two.seconds.toFixed(0)} s | ${(two.bytes / 1e6).toFixed(1)} MB moved (${(one.bytes / two.bytes).toFixed(1)}x fewer than synchronous fp32)`,
    );
  }
}

/** The 10.7M GPT on the grid (one native worker) against a plain process, same job and engine: tokens per second. */
async function benchLarge(text: Uint8Array, vocab: number) {
  const spec = parseTrainingSpec(largeJob(vocab));
  const tokens = (rounds: number) => rounds * spec.globalBatch * LARGE_BLOCK;
  const base = await plain(text, vocab, spec, LARGE_BLOCK);
  const grid = await onGrid(text, vocab, 1, largeJob(vocab), LARGE_BLOCK);
  const plainRate = tokens(LARGE_ITERS) / base.seconds;
  const steadyRate = tokens(grid.steady.rounds) / grid.steady.seconds;
  console.log(
    `GPT 6x384 block 256 (10.7M parameters), batch 4, ${LARGE_ITERS} rounds: plain onnxruntime-node ${plainRate.toFixed(0)} tokens/s; grid, 1 native worker, ` +
      `${(tokens(LARGE_ITERS) / grid.seconds).toFixed(0)} tokens/s over the job (${grid.seconds.toFixed(0)} s, its first shard's engine timing included), ` +
      `${steadyRate.toFixed(0)} tokens/s first result to last | grid/plain ${(steadyRate / plainRate).toFixed(2)} in rate | ` +
      `validation ${grid.loss.toFixed(3)} nats/char (plain ${base.loss.toFixed(3)}) | ${(grid.bytes / 1e6 / LARGE_ITERS).toFixed(0)} MB moved a round`,
  );
}
