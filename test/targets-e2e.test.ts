import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../protocol/npy';
import { api, mlpJob, startTestCoordinator, tempDir, trainOnOrtNode } from './helpers';

// Data sets labelled with more than one class: CSV uploads with multi-label and regression targets, layer-list models
// trained on them by the grid, each scored by its own measure, and an export that gives the values.
describe('targets beyond one class, end to end', () => {
  let coord: Awaited<ReturnType<typeof startTestCoordinator>>;
  let url: string;
  const token = 'gt_targets_operator';
  const features = (i: number) => [Math.sin(i * 1.7), Math.cos(i * 0.9), Math.sin(i * 0.31 + 1), Math.cos(i * 2.3 + 0.5)];
  const regression = (x: number[]) => [x[0] + 2 * x[1] - x[2] * x[3], x[0] * x[1]];
  const tags = (x: number[]) => [Number(x[0] > 0), Number(x[1] + x[2] > 0), Number(x[3] > 0.5)];

  const upload = (name: string, split: string, rows: number[][], query: string) =>
    fetch(`${url}/api/datasets/${name}/${split}?${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: rows.map((r) => r.map((v) => v.toFixed(5)).join(',')).join('\n'),
    });
  const rows = (from: number, n: number, targets: (x: number[]) => number[]) =>
    Array.from({ length: n }, (_, i) => [...features(from + i), ...targets(features(from + i))]);
  const metric = async (id: number, name: string) =>
    (await api<{ name: string; round: number; value: number }[]>(url, token, `/api/jobs/${id}/metrics`))
      .filter((m) => m.name === name)
      .sort((a, b) => a.round - b.round); // evaluations finish in the background, not always in order
  const job = (dataset: string, rounds: number) =>
    mlpJob({
      model: { kind: 'layers', input: [4], layers: [{ type: 'dense', units: 32 }, { type: 'tanh' }, { type: 'dense', units: dataset === 'values' ? 2 : 3 }] },
      dataset: { name: dataset, split: 'train', evalSplit: 'test' },
      optimizer: { kind: 'adamw', lr: 0.01 },
      rounds,
      globalBatch: 128,
      shardSize: 64,
      evalEvery: 10,
    });

  beforeAll(async () => {
    coord = await startTestCoordinator(tempDir('grid-targets-'), token);
    url = `http://127.0.0.1:${coord.port}`;
    for (const [name, targets, query] of [
      ['values', regression, 'targets=regression&targetColumns=2'],
      ['tags', tags, 'targets=multi-label&targetColumns=3'],
    ] as const) {
      expect((await upload(name, 'train', rows(0, 4000, targets), query)).status).toBe(201);
      expect((await upload(name, 'test', rows(100_000, 500, targets), query)).status).toBe(201);
    }
  });
  afterAll(() => coord?.close());

  it('trains a regression: its mean squared error falls, no accuracy is claimed, and the export gives the values', async () => {
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', job('values', 200));
    const submitted = await api<{ spec: { model: { targets: string } } }>(url, token, `/api/jobs/${id}`);
    expect(submitted.spec.model.targets).toBe('regression');
    await trainOnOrtNode(url, token, id);
    const losses = (await metric(id, 'test_loss')).map((m) => m.value);
    console.log(`regression: test mean squared error by evaluation ${losses.map((l) => l.toFixed(4)).join(' ')}`);
    expect(losses.at(-1)).toBeLessThan(0.05);
    expect(losses.at(-1)).toBeLessThan((losses[0] as number) / 3);
    expect(await metric(id, 'test_accuracy')).toEqual([]);
    const file = new Uint8Array(await (await fetch(`${url}/api/jobs/${id}/model.onnx`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer());
    const session = await ort.InferenceSession.create(file);
    expect(session.outputNames).toEqual(['logits']);
    const x = features(123_456);
    const out = (await session.run({ input: new ort.Tensor('float32', Float32Array.from(x), [1, 4]) })).logits.data as Float32Array;
    regression(x).forEach((want, k) => expect(Math.abs(out[k] - want)).toBeLessThan(0.5));
  }, 200_000);

  it('trains a multi-label classifier to label most tags right, and refuses a model that does not fit the targets', async () => {
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', job('tags', 150));
    await trainOnOrtNode(url, token, id);
    const accuracy = (await metric(id, 'test_accuracy')).at(-1)?.value ?? 0;
    console.log(`multi-label: ${(accuracy * 100).toFixed(1)}% of test samples with all 3 labels right`);
    expect(accuracy).toBeGreaterThan(0.85);
    const refused = async (spec: unknown) => {
      const res = await fetch(`${url}/api/jobs`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(spec) });
      return [res.status, ((await res.json()) as { error: { code: string; message: string } }).error];
    };
    expect(await refused({ ...job('tags', 5), model: { kind: 'mlp', layers: [4, 8, 3] } })).toEqual([
      400,
      expect.objectContaining({ code: 'BAD_JOB_SPEC', message: expect.stringMatching(/mlp preset trains on classes/) }),
    ]);
    const wide = job('values', 5);
    expect(await refused({ ...wide, model: { kind: 'layers', input: [4], layers: [{ type: 'dense', units: 3 }] } })).toEqual([
      400,
      expect.objectContaining({ message: expect.stringMatching(/3 outputs but values\/train has 2 regression targets/) }),
    ]);
    const augmented = { ...wide, dataset: { name: 'values', split: 'train', augment: { crop: 2 } } };
    expect(await refused(augmented)).toEqual([
      400,
      expect.objectContaining({
        code: 'BAD_JOB_SPEC',
        message: "dataset.augment: augmentation needs images (channels, height, width); this data set's samples are [4]",
      }),
    ]);
  }, 200_000);

  it('trains on inputs and targets uploaded as two .npy files, and says why a targets file does not fit', async () => {
    const f32 = (shape: number[], values: number[]) => encodeNpy('<f4', shape, new Uint8Array(Float32Array.from(values).buffer));
    const post = (path: string, body: Uint8Array) => fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body });
    for (const [split, from, n] of [
      ['train', 0, 4000],
      ['test', 100_000, 500],
    ] as const) {
      const xs = Array.from({ length: n }, (_, i) => features(from + i));
      expect((await post(`/api/datasets/npyvalues/${split}?format=npy`, f32([n, 4], xs.flat()))).status).toBe(201);
      const res = await post(`/api/datasets/npyvalues/${split}?format=npy-targets&targets=regression`, f32([n, 2], xs.flatMap(regression)));
      expect([res.status, ((await res.json()) as { targets: unknown }).targets]).toEqual([201, { kind: 'regression', width: 2, dtype: 'f32' }]);
    }
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', {
      ...job('values', 120),
      dataset: { name: 'npyvalues', split: 'train', evalSplit: 'test' },
    });
    await trainOnOrtNode(url, token, id);
    const losses = (await metric(id, 'test_loss')).map((m) => m.value);
    console.log(`regression from .npy files: test mean squared error by evaluation ${losses.map((l) => l.toFixed(4)).join(' ')}`);
    expect(losses.at(-1)).toBeLessThan((losses[0] as number) / 2);
    const refusal = async (query: string, body: Uint8Array) => {
      const res = await post(`/api/datasets/npyvalues/train?format=npy-targets&${query}`, body);
      return `${res.status} ${((await res.json()) as { error: { message: string } }).error.message}`;
    };
    expect(await refusal('targets=regression', f32([3, 2], [1, 2, 3, 4, 5, 6]))).toBe('400 targets .npy has 3 rows; the inputs have 4000 samples');
    expect(
      await refusal(
        'targets=class',
        f32(
          [4000],
          Array.from({ length: 4000 }, (_, i) => i / 2),
        ),
      ),
    ).toMatch(/^400 targets \.npy value 1 \(0\.5\) is not a class/);
    expect(await refusal('targets=multi-label', f32([4000, 1], Array(4000).fill(2)))).toMatch(/^400 targets \.npy value 0 \(2\) is not 0 or 1/);
    expect(await refusal('targets=regression', f32([4000], Array(4000).fill(Number.NaN)))).toMatch(/is not finite/);
    expect((await post('/api/datasets/nothing/train?format=npy-targets&targets=class', f32([1], [0]))).status).toBe(404);
    // The refusals left the data set as it was.
    expect(await api<{ targets: unknown }>(url, token, '/api/datasets/npyvalues/train')).toMatchObject({ targets: { kind: 'regression', width: 2 } });
  }, 200_000);
});
