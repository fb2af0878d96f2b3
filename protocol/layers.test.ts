import { describe, expect, it } from 'vitest';
import { parseTrainingSpec as parseJobSpec } from './job';
import { classCount, inputSize, parameterCount } from './model';

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
    ).toThrow(/residual block l0 maps width 8 to 4/);
    expect(() => parseJobSpec(job({ kind: 'layers', input: [8], layers: [{ type: 'attention' }] }))).toThrow(/model\.layers\[0\]\.type: expected one of/);
    expect(() => parseJobSpec(job({ kind: 'layers', input: [8], layers: [{ type: 'dense', units: 1 }] }))).toThrow(/at least 2 classes/);
  });
});
