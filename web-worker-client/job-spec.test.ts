import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../protocol/job';
import { fieldOf, specOf, TRAINING, trafficOf } from './job-spec';

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

  it('defaults to volunteer mode and says what it costs an hour, warning when a spec asks more than a home connection should give', () => {
    const lean = trafficOf(TRAINING);
    expect(lean?.line).toMatch(/^Each shard: 0\.24 MB down, 0\.24 MB up for 2048 samples; a volunteer computing 1,000 samples\/s moves 8\d\d MB an hour\.$/);
    expect(lean?.warning).toBeUndefined();
    const heavy = trafficOf({ ...TRAINING, mode: 'sync', encoding: 'fp32', download: 'fp32' });
    expect(heavy?.line).toMatch(/0\.94 MB down, 0\.94 MB up for 128 samples; .* moves 5\d\.\d GB an hour/);
    expect(heavy?.warning).toMatch(/More than a home connection should give/);
    expect(trafficOf({ ...TRAINING, globalBatch: '-1' })).toBeUndefined(); // not a spec yet: nothing to say
  });
});
