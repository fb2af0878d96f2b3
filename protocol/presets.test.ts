import { describe, expect, it } from 'vitest';
import { parseTrainingSpec } from './job';
import { classCount, inputSize, parameterShapes } from './model';

const job = (model: unknown) => ({
  name: 'resnet',
  model,
  dataset: { name: 'fashion-mnist', split: 'train' },
  optimizer: { kind: 'adamw', lr: 0.001 },
  globalBatch: 64,
  shardSize: 32,
  rounds: 2,
});

describe('the resnet preset', () => {
  it('stands for a layer list: stem, a stage per width (later ones halve the image and project the shortcut), pooling, dense', () => {
    const { model } = parseTrainingSpec(job({ kind: 'resnet', input: [1, 28, 28], widths: [8, 16], blocks: 2, classes: 10 }));
    expect(model.kind).toBe('layers');
    expect(inputSize(model)).toBe(784);
    expect(classCount(model)).toBe(10);
    const names = parameterShapes(model).map((s) => `${s.name} [${s.shape}]`);
    expect(names.filter((n) => n.includes('.s0.w'))).toEqual(['l7.s0.w [16,8,1,1]']); // only the block that downsamples
    expect(names.filter((n) => n.endsWith('.mean [16]')).length).toBe(5); // 2 blocks x 2 norms + the projection's
    expect(names.at(-2)).toBe('l12.w [16,10]');
  });

  it('is refused with BAD_JOB_SPEC when it does not fit', () => {
    expect(() => parseTrainingSpec(job({ kind: 'resnet', input: [1, 28, 28], widths: [], blocks: 1, classes: 10 }))).toThrow(/widths/);
    expect(() => parseTrainingSpec(job({ kind: 'resnet', input: [1, 28, 28], widths: [8], blocks: 0, classes: 10 }))).toThrow(
      expect.objectContaining({ code: 'BAD_JOB_SPEC' }),
    );
  });
});
