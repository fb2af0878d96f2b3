import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startCoordinator } from '../coordinator/server';
import { onnxEngine } from '../kernels/onnx/engine';
import { onnxInference } from '../kernels/onnx/session';
import { memoryCache } from '../worker/host';
import { WorkerLoop } from '../worker/loop';
import { mlpJob, spawnTs, tempDir } from './helpers';

/** Run the `grid` CLI to its end: exit code and output lines. */
async function grid(args: string[], env: Record<string, string>): Promise<{ code: number; lines: string[] }> {
  const p = spawnTs('cli/grid.ts', args, env);
  const code = await new Promise<number>((r) => p.child.on('exit', (c) => r(c ?? -1)));
  return { code, lines: p.output };
}

// The researcher CLI on the same REST API: submit a job from a file, list it, watch it to the end, take its
// model out as ONNX, register a model; refusals exit non-zero with the server's code.
describe('grid, the researcher CLI', () => {
  let coord: Awaited<ReturnType<typeof startCoordinator>>;
  let env: Record<string, string>;
  const dir = tempDir('grid-cli-');
  const token = 'gt_cli_operator';
  const logged: string[] = [];

  beforeAll(async () => {
    coord = await startCoordinator({
      ...{ port: 0, host: '127.0.0.1', databaseUrl: ':memory:', dataDir: dir, webDir: join(dir, 'web'), enrolment: false, operatorToken: token },
      ...{
        maxFrameBytes: 1 << 24,
        maxBodyBytes: 1 << 24,
        heartbeatMs: 5000,
        log: { debug() {}, info: (m: string) => logged.push(m), warn() {}, error: console.error },
      },
    });
    env = { GRID_COORDINATOR: `http://127.0.0.1:${coord.port}`, GRID_TOKEN: token };
  });
  afterAll(() => coord?.close());

  it('submits, lists, watches to the end and downloads model.onnx', async () => {
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify(mlpJob({ name: 'cli-job', rounds: 6, globalBatch: 128, shardSize: 128, evalEvery: 6, evalSamples: 1000 })));
    const submitted = await grid(['jobs', 'submit', spec], env);
    expect(submitted.code).toBe(0);
    const id = Number(submitted.lines.at(-1));
    expect((await grid(['jobs', 'list'], env)).lines.some((l) => l.includes('cli-job') && l.trim().startsWith(String(id)))).toBe(true);
    const loop = new WorkerLoop({
      ...{ coordinator: env.GRID_COORDINATOR, token, cache: memoryCache(), connect: (u, p) => new WebSocket(u, p) },
      engines: [onnxEngine(ort, 'cpu', 'ort-node', 'onnxruntime-node cpu')],
      inference: [onnxInference(ort, 'cpu', 'ort-node cpu')],
      capabilities: { kind: 'native', backend: 'cpu', cores: 2, memoryMB: 1000 },
    });
    loop.start();
    const watched = await grid(['jobs', 'watch', String(id)], env);
    expect(watched.code).toBe(0);
    const last = JSON.parse(watched.lines.at(-1) ?? '{}');
    expect(last).toMatchObject({ job: id, state: 'done', round: 6, totalRounds: 6 });
    expect(last.testAccuracy).toBeGreaterThan(0.3);
    const out = join(dir, 'model.onnx');
    expect((await grid(['jobs', 'download', String(id), '--onnx', '--out', out], env)).code).toBe(0);
    const session = await ort.InferenceSession.create(out);
    expect(session.inputNames).toEqual(['input']);
    const registered = await grid(['models', 'register', out, '--name', 'from the cli'], env);
    expect(registered.code).toBe(0);
    const { sha256 } = JSON.parse(registered.lines.join('\n'));
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    // The model it trained, run over the test set as an inference job, its classes out as CSV.
    const inference = { name: 'cli-infer', mode: 'inference', model: { sha256, output: 'logits' }, dataset: { name: 'fashion-mnist' }, shardSize: 2500 };
    writeFileSync(spec, JSON.stringify({ ...inference, postprocess: 'argmax', redundancy: { fraction: 0 } }));
    const inferId = (await grid(['jobs', 'submit', spec], env)).lines.at(-1);
    expect((await grid(['jobs', 'watch', String(inferId)], env)).code).toBe(0);
    await loop.stop('release');
    const csv = join(dir, 'classes.csv');
    expect((await grid(['jobs', 'download', String(inferId), '--output', 'csv', '--out', csv], env)).code).toBe(0);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(10_001);
    expect(lines[0]).toBe('index,class');
    expect(lines.slice(1).every((l, i) => new RegExp(`^${i},[0-9]$`).test(l))).toBe(true);
  }, 120_000);

  it('exits 2 on a usage error and 1 on a refusal, with the code', async () => {
    expect((await grid(['jobs', 'download', '1'], env)).code).toBe(2);
    expect((await grid(['jobs', 'download', '1', '--output', 'xml'], env)).code).toBe(2);
    const typo = await grid(['jobs', 'lst'], env);
    expect([typo.code, typo.lines.join('\n')]).toEqual([2, expect.stringMatching(/unknown command 'lst'[\s\S]*Did you mean list\?/)]);
    const refused = await grid(['jobs', 'list'], { ...env, GRID_TOKEN: 'gt_wrong' });
    expect(refused.code).toBe(1);
    expect(refused.lines.join('\n')).toMatch(/UNAUTHORIZED/);
    expect((await grid(['jobs', 'watch', '999'], env)).lines.join('\n')).toMatch(/NOT_FOUND/);
    expect((await grid(['jobs', 'show', 'seven'], env)).code).toBe(2);
    const bogus = await grid(['jobs', 'list', '--bogus'], env);
    expect(bogus.code).toBe(2);
    expect(bogus.lines.join('\n')).toMatch(/unknown option '--bogus'/i);
    expect(bogus.lines.join('\n')).not.toMatch(/at .*node:internal/);
  });

  it('lists under a header, shows a job, pauses, resumes and cancels it', async () => {
    const spec = join(dir, 'control.json');
    writeFileSync(spec, JSON.stringify(mlpJob({ name: 'cli-control', rounds: 50, globalBatch: 128, shardSize: 128 })));
    const id = (await grid(['jobs', 'submit', spec], env)).lines.at(-1) as string;
    const list = (await grid(['jobs', 'list'], env)).lines;
    expect(list[0]).toMatch(/^ID\s+STATE\s+ROUND\s+NAME$/);
    const state = async () => JSON.parse((await grid(['jobs', 'show', id], env)).lines.join('\n')).state;
    expect(['queued', 'running']).toContain(await state());
    expect((await grid(['jobs', 'pause', id], env)).code).toBe(0);
    expect(await state()).toBe('paused');
    expect((await grid(['jobs', 'resume', id], env)).code).toBe(0);
    expect(await state()).not.toBe('paused');
    expect((await grid(['jobs', 'cancel', id], env)).code).toBe(0);
    expect(await state()).toBe('cancelled');
    for (const action of ['job.submit', 'job.pause', 'job.resume', 'job.cancel']) expect(logged).toContain(action);
    expect((await grid(['jobs', 'logs', id], env)).lines.join('\n')).toMatch(/cancelled at round \d+[\s\S]*submitted/);
    // Listings as JSON; the trained job's metrics as CSV; the two runs compared.
    const all = JSON.parse((await grid(['jobs', 'list', '--json'], env)).lines.join('\n')) as { id: number; name: string }[];
    const trained = String(all.find((j) => j.name === 'cli-job')?.id);
    expect((await grid(['jobs', 'metrics', trained], env)).lines[0]).toMatch(/^round,time,.*train_loss/);
    const compared = (await grid(['jobs', 'compare', trained, id], env)).lines;
    expect(compared[0]).toMatch(new RegExp(`^SETTING\\s+job ${trained}\\s+job ${id}$`));
    expect(compared.find((l) => l.startsWith('name '))).toMatch(/"cli-job"\s+"cli-control"/);
  });

  it('reads a long run whole: compare and logs show its last evaluation past the first page of metrics', async () => {
    const spec = join(dir, 'long.json');
    writeFileSync(spec, JSON.stringify(mlpJob({ name: 'cli-long', rounds: 5000 })));
    const id = (await grid(['jobs', 'submit', spec], env)).lines.at(-1) as string;
    expect((await grid(['jobs', 'cancel', id], env)).code).toBe(0);
    // 2,100 rounds of five points each, then an evaluation: past the 10,000 points one request answers.
    for (let round = 1; round <= 2100; round++)
      await coord.store.addMetrics(Number(id), round, { train_loss: 1 / round, train_accuracy: 0.5, samples: 128, bytes_up: round, bytes_down: round });
    await coord.store.addMetrics(Number(id), 2100, { test_accuracy: 0.777, test_loss: 0.625 });
    const compared = (await grid(['jobs', 'compare', id, id], env)).lines;
    expect(compared.find((l) => l.startsWith('test_accuracy '))).toMatch(/^test_accuracy\s+0\.777\s+0\.777$/);
    expect(compared.find((l) => l.startsWith('train_loss '))).toMatch(new RegExp(`${1 / 2100}`.slice(0, 8)));
    expect((await grid(['jobs', 'logs', id], env)).lines.join('\n')).toMatch(/round 2100/);
  });
});

// The native worker's command line: an option it does not know is a usage error, not a stack trace.
describe('grid-worker, usage', () => {
  it('exits 2 with the usage on an unknown option', async () => {
    const p = spawnTs('native-worker/cli.ts', ['--bogus'], {});
    const code = await new Promise<number>((r) => p.child.on('exit', (c) => r(c ?? -1)));
    expect(code).toBe(2);
    expect(p.output.join('\n')).toMatch(/Unknown option '--bogus'[\s\S]*--coordinator URLS/);
  });
  it('--check says when the GPU is a software rasterizer instead of a bare ok', async () => {
    const p = spawnTs('native-worker/cli.ts', ['--check', '--backend', 'vulkan', '--check-seconds', '1'], {});
    const code = await new Promise<number>((r) => p.child.on('exit', (c) => r(c ?? -1)));
    expect(code).toBe(0);
    const verdict = JSON.parse(p.output.find((l) => l.startsWith('{"check"')) ?? '{}');
    expect(verdict).toMatchObject({ check: 'ok', gpu: 'software' }); // lavapipe, here and in CI
    expect(p.output.join('\n')).toMatch(/no hardware GPU .* software rasterizer/);
  }, 120_000);
});
