import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../protocol/job';
import { fieldOf, specOf, TRAINING } from './job-spec';

const fields = Object.keys(TRAINING);

describe('the job form’s spec', () => {
  it('makes a valid layer-list job from the default fields, and a fine-tuning job from a registered model', () => {
    expect(() => parseJobSpec(specOf({ ...TRAINING, kind: 'layers' }))).not.toThrow();
    const fineTune = specOf({ ...TRAINING, kind: 'finetune', model: 'a'.repeat(64), loss: 'binary-cross-entropy' });
    expect(fineTune.model).toEqual({ kind: 'onnx', sha256: 'a'.repeat(64), loss: 'binary-cross-entropy' });
  });

  it('names the field of a mistake in a layer list: bad JSON, a layer that does not fit', () => {
    expect(() => specOf({ ...TRAINING, kind: 'layers', layerList: '[{"type": "dense"' })).toThrow(/^layerList: not JSON/);
    let message = '';
    try {
      parseJobSpec(specOf({ ...TRAINING, kind: 'layers', layerList: '[{"type": "layerNorm"}, {"type": "dense", "units": 10}]' }));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/layerNorm takes a vector/);
    expect(fieldOf(message, fields)).toBe('layers'); // the form shows it at the layer list (job-form.ts)
  });
});
