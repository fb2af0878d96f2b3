import { describe, expect, it } from 'vitest';
import { parseTrainingSpec as parseJobSpec } from './job';
import { classCount, inputSize, outputPositions, parameterCount, parameterShapes } from './model';

const job = (model: unknown) => ({
  name: 'layers',
  model,
  dataset: { name: 'fashion-mnist', split: 'train' },
  optimizer: { kind: 'adamw', lr: 0.001 },
  globalBatch: 64,
  shardSize: 32,
  rounds: 2,
});

describe('layer-list model specs', () => {
  it('parse, with their input, output width and parameter count', () => {
    const spec = parseJobSpec(
      job({
        kind: 'layers',
        input: [1, 28, 28],
        layers: [
          { type: 'dense', units: 64 },
          { type: 'gelu' },
          { type: 'residual', layers: [{ type: 'layerNorm' }, { type: 'dense', units: 64 }] },
          { type: 'dense', units: 10 },
        ],
      }),
    );
    expect(inputSize(spec.model)).toBe(784);
    expect(classCount(spec.model)).toBe(10);
    expect(parameterCount(spec.model)).toBe(784 * 64 + 64 + 64 * 2 + 64 * 64 + 64 + 64 * 10 + 10);
  });

  it('refuse a residual block that changes the width, an unknown layer and a model with one output', () => {
    expect(() =>
      parseJobSpec(
        job({
          kind: 'layers',
          input: [8],
          layers: [
            { type: 'residual', layers: [{ type: 'dense', units: 4 }] },
            { type: 'dense', units: 3 },
          ],
        }),
      ),
    ).toThrow(/residual block l0 maps \[8\] to \[4\]/);
    expect(() => parseJobSpec(job({ kind: 'layers', input: [8], layers: [{ type: 'lstm' }] }))).toThrow(/model\.layers\[0\]\.type: expected one of/);
    expect(() => parseJobSpec(job({ kind: 'layers', input: [8], layers: [{ type: 'dense', units: 1 }] }))).toThrow(/at least 2 classes/);
  });

  it('track an image through convolutions and pools, and refuse a layer that does not fit its shape', () => {
    const cnn = (layers: unknown[]) => parseJobSpec(job({ kind: 'layers', input: [1, 28, 28], layers })).model;
    const ok = cnn([
      { type: 'conv2d', filters: 8, kernel: 5 },
      { type: 'maxPool', size: 2 },
      { type: 'conv2d', filters: 16, kernel: 3, stride: 2 },
      { type: 'globalAvgPool' },
      { type: 'dense', units: 10 },
    ]);
    expect(classCount(ok)).toBe(10);
    expect(parameterCount(ok)).toBe(8 * 25 + 8 + 16 * 8 * 9 + 16 + 16 * 10 + 10);
    expect(() => cnn([{ type: 'layerNorm' }, { type: 'dense', units: 10 }])).toThrow(/layerNorm takes a vector/);
    expect(() =>
      cnn([
        { type: 'dense', units: 10 },
        { type: 'maxPool', size: 2 },
      ]),
    ).toThrow(/maxPool takes an image/);
    expect(() => cnn([{ type: 'conv2d', filters: 4, kernel: 3 }])).toThrow(/end with dense/);
    expect(() =>
      cnn([
        { type: 'residual', layers: [{ type: 'conv2d', filters: 4, kernel: 3 }] },
        { type: 'dense', units: 2 },
      ]),
    ).toThrow(/maps \[1,28,28\] to \[4,28,28\]/);
  });

  it('take pools with a stride and padding (overlapping windows, a ResNet stem), tiling windows by default', () => {
    const cnn = (layers: unknown[]) => parseJobSpec(job({ kind: 'layers', input: [1, 28, 28], layers })).model;
    const flat = (pool: unknown) => parameterCount(cnn([{ type: 'conv2d', filters: 2, kernel: 3 }, pool, { type: 'dense', units: 10 }])) - (2 * 9 + 2 + 10);
    expect(flat({ type: 'maxPool', size: 3, stride: 2, padding: 'same' }) / 10).toBe(2 * 14 * 14);
    expect(flat({ type: 'avgPool', size: 3, stride: 1 }) / 10).toBe(2 * 26 * 26);
    expect(flat({ type: 'maxPool', size: 2 }) / 10).toBe(2 * 14 * 14);
    expect(() =>
      cnn([
        { type: 'maxPool', size: 3, stride: 9 },
        { type: 'dense', units: 2 },
      ]),
    ).toThrow(/stride/);
  });

  it("refuse an unembed with no embedding before it, or on a width other than the embedding's", () => {
    const seq = (layers: unknown[]) => parseJobSpec(job({ kind: 'layers', input: [16], layers })).model;
    expect(() => seq([{ type: 'dense', units: 4 }, { type: 'unembed' }])).toThrow(/none comes before it/);
    expect(() => seq([{ type: 'embedding', vocab: 9, dim: 8 }, { type: 'dense', units: 4 }, { type: 'unembed' }])).toThrow(/takes \[positions, 8\]/);
  });

  it('take grouped and depthwise convolutions, whose weights see their group of channels, and refuse groups that do not divide', () => {
    const cnn = (layers: unknown[]) => parseJobSpec(job({ kind: 'layers', input: [4, 8, 8], layers })).model;
    const separable = cnn([
      { type: 'conv2d', filters: 4, kernel: 3, groups: 4 },
      { type: 'conv2d', filters: 8, kernel: 1 },
      { type: 'conv2d', filters: 6, kernel: 3, groups: 2 },
      { type: 'globalAvgPool' },
      { type: 'dense', units: 3 },
    ]);
    expect(parameterCount(separable)).toBe(4 * 9 + 4 + 8 * 4 + 8 + 6 * 4 * 9 + 6 + 6 * 3 + 3);
    expect(() => cnn([{ type: 'conv2d', filters: 6, kernel: 3, groups: 3 }, { type: 'flatten' }, { type: 'dense', units: 2 }])).toThrow(
      /3 groups must divide both its 4 input channels and its 6 filters/,
    );
  });

  it('track a sequence through embeddings, attention and pooling, and refuse what does not fit it', () => {
    const seq = (layers: unknown[], input = [16]) => parseJobSpec(job({ kind: 'layers', input, layers })).model;
    const ok = seq([
      { type: 'embedding', vocab: 100, dim: 12 },
      { type: 'attention', heads: 3, causal: true },
      { type: 'dense', units: 8 },
      { type: 'meanPool' },
      { type: 'dense', units: 4 },
    ]);
    expect(classCount(ok)).toBe(4);
    expect(parameterCount(ok)).toBe(100 * 12 + 16 * 12 + 4 * (12 * 12 + 12) + 12 * 8 + 8 + 8 * 4 + 4);
    expect(() => seq([{ type: 'embedding', vocab: 100, dim: 12 }, { type: 'attention', heads: 5 }, { type: 'meanPool' }, { type: 'dense', units: 2 }])).toThrow(
      /12 features do not split into 5 heads/,
    );
    expect(() =>
      seq([
        { type: 'attention', heads: 1 },
        { type: 'dense', units: 2 },
      ]),
    ).toThrow(/attention takes a sequence/);
    expect(() =>
      seq(
        [
          { type: 'embedding', vocab: 10, dim: 4 },
          { type: 'dense', units: 2 },
        ],
        [1, 4, 4],
      ),
    ).toThrow(/embedding takes token ids/);
    expect(() => seq([{ type: 'embedding', vocab: 10, dim: 4 }, { type: 'batchNorm' }, { type: 'meanPool' }, { type: 'dense', units: 2 }])).toThrow(
      /use layerNorm in a sequence/,
    );
    const lm = seq([
      { type: 'embedding', vocab: 10, dim: 4 },
      { type: 'dense', units: 10 },
    ]);
    expect([outputPositions(lm), classCount(lm)]).toEqual([16, 10]); // a class per position: a language model
  });
});

describe('the resnet preset', () => {
  it('stands for a layer list: stem, a stage per width (later ones halve the image and project the shortcut), pooling, dense', () => {
    const { model } = parseJobSpec(job({ kind: 'resnet', input: [1, 28, 28], widths: [8, 16], blocks: 2, classes: 10 }));
    expect(model.kind).toBe('layers');
    expect(inputSize(model)).toBe(784);
    expect(classCount(model)).toBe(10);
    const names = parameterShapes(model).map((s) => `${s.name} [${s.shape}]`);
    expect(names.filter((n) => n.includes('.s0.w'))).toEqual(['l7.s0.w [16,8,1,1]']); // only the block that downsamples
    expect(names.filter((n) => n.endsWith('.mean [16]')).length).toBe(5); // 2 blocks x 2 norms + the projection's
    expect(names.at(-2)).toBe('l12.w [16,10]');
  });

  it('is refused with BAD_JOB_SPEC when it does not fit', () => {
    expect(() => parseJobSpec(job({ kind: 'resnet', input: [1, 28, 28], widths: [], blocks: 1, classes: 10 }))).toThrow(/widths/);
    expect(() => parseJobSpec(job({ kind: 'resnet', input: [1, 28, 28], widths: [8], blocks: 0, classes: 10 }))).toThrow(
      expect.objectContaining({ code: 'BAD_JOB_SPEC' }),
    );
  });
});
