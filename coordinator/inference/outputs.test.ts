import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeTensor } from '../../protocol/frames';
import { parseJobSpec } from '../../protocol/job';
import { decodeNpy } from '../../protocol/npy';
import { assemble, matchesRecomputed, outputCsv } from './outputs';
import type { InferencePlan } from './plan';

const spec = (over: object) => {
  const s = parseJobSpec({ name: 'i', mode: 'inference', model: { sha256: 'a'.repeat(64) }, dataset: { name: 'd' }, shardSize: 2, ...over });
  if (s.mode !== 'inference') throw new Error('not an inference spec');
  return s;
};
const plan = (over: Partial<InferencePlan>): InferencePlan => ({
  ...{ post: { kind: 'raw' }, input: 'x', output: 'y', inputShape: [-1, 3], width: 2, kept: 2, samples: 5, modelBytes: 1000 },
  ...over,
});
const stored = (shard: number, values: number[], dtype: 'f32' | 'f16' = 'f32') => ({
  shard,
  provider: 'test',
  data: decodeFrame(encodeTensor({ kind: 'output', job: 1, round: 0, shard }, Float32Array.from(values), dtype)).payload,
});

describe('inference outputs, assembled in input order', () => {
  it('fills rows not computed yet with NaN (raw) and says how many are real; a shard computed twice counts once', () => {
    const out = assemble(spec({}), plan({}), [stored(0, [1, 2, 3, 4]), stored(2, [9, 10]), stored(2, [9, 10])]);
    expect([out.rows, out.rowsDone]).toEqual([5, 3]);
    const a = decodeNpy(out.npy);
    expect(a).toMatchObject({ dtype: '<f4', shape: [5, 2] });
    expect([...a.values]).toEqual([1, 2, 3, 4, Number.NaN, Number.NaN, Number.NaN, Number.NaN, 9, 10]);
  });

  it('writes class indices as int32 with -1 for missing rows, f16 outputs as f16, and CSV without missing rows', () => {
    const classes = plan({ post: { kind: 'argmax' }, kept: 1, samples: 4 });
    const out = decodeNpy(assemble(spec({ postprocess: 'argmax' }), classes, [stored(1, [7, 3])]).npy);
    expect(out).toMatchObject({ dtype: '<i4', shape: [4] });
    expect([...out.values]).toEqual([-1, -1, 7, 3]);
    const half = decodeNpy(assemble(spec({ outputDtype: 'f16' }), plan({ samples: 2 }), [stored(0, [0.5, -2, 1, 3], 'f16')]).npy);
    expect(half).toMatchObject({ dtype: '<f2', shape: [2, 2] });
    expect([...half.values]).toEqual([0.5, -2, 1, 3]);
    expect(outputCsv(spec({ postprocess: 'argmax' }), classes, [stored(1, [7, 3])])).toBe('index,class\n2,7\n3,3\n');
  });
});

describe('outputs against the coordinator’s own run of the model', () => {
  const kept = (values: number[]) => ({ values: Float32Array.from(values), rounding: 0 });
  // Two samples of three classes: the first a clear win for class 2, the second a near tie between classes 0 and 1.
  const raw = Float32Array.from([0.1, -3, 5, 2.0, 2.0 + 1e-5, -1]);

  it('takes either class of a near tie (engines sum in other orders), and no other', () => {
    const argmax = plan({ post: { kind: 'argmax' }, width: 3, kept: 1 });
    expect(matchesRecomputed(argmax, 0, kept([2, 1]), raw, 2)).toBe(true);
    expect(matchesRecomputed(argmax, 0, kept([2, 0]), raw, 2)).toBe(true);
    expect(matchesRecomputed(argmax, 0, kept([0, 1]), raw, 2)).toBe(false);
    expect(matchesRecomputed(argmax, 0, kept([2, 2]), raw, 2)).toBe(false);
  });

  it('checks every place of a top-k ranking, and raw outputs within the tolerance', () => {
    const top2 = plan({ post: { kind: 'topk', k: 2 }, width: 3, kept: 2 });
    expect(matchesRecomputed(top2, 0, kept([2, 0, 1, 0]), raw, 2)).toBe(true);
    expect(matchesRecomputed(top2, 0, kept([2, 1, 1, 0]), raw, 2)).toBe(false); // second place swapped with third
    const rawPlan = plan({ width: 3, kept: 3 });
    expect(matchesRecomputed(rawPlan, 1e-4, kept([...raw].map((v) => v * (1 + 1e-6))), raw, 2)).toBe(true);
    expect(matchesRecomputed(rawPlan, 1e-4, kept([...raw].map((v) => v + 0.01)), raw, 2)).toBe(false);
  });
});
