import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../protocol/job';
import { type Json, specOf, TRAINING, trafficOf } from './job-spec';
import { fieldsOf, PRESETS, presetOf } from './spec-fields';

// The README's first spec and its volunteer mode, a preset model the form has no fields for, and an inference job.
const README: Json = {
  name: 'fmnist-mlp',
  model: { kind: 'mlp', layers: [784, 256, 128, 10] },
  dataset: { name: 'fashion-mnist', split: 'train', evalSplit: 'test' },
  optimizer: { kind: 'adamw', lr: 0.002 },
  globalBatch: 512,
  shardSize: 128,
  epochs: 5,
  checkpointEvery: 50,
  evalEvery: 59,
};
const VOLUNTEER: Json = {
  ...README,
  mode: 'local',
  local: { steps: 16, lr: 0.001, outerLr: 0.7, outerMomentum: 0.9 },
  globalBatch: 256,
  encoding: 'int8',
  download: 'int8-delta',
};
const GPT: Json = {
  name: 'shakespeare',
  model: { kind: 'gpt', vocab: 65, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32 },
  dataset: { name: 'shakespeare', split: 'train' },
  optimizer: { kind: 'adamw', lr: 0.003, schedule: 'cosine', weightDecay: 0.1 },
  globalBatch: 64,
  shardSize: 32,
  rounds: 300,
};
const AUGMENTED: Json = {
  ...README,
  model: { kind: 'resnet', input: [1, 28, 28], widths: [16, 32, 64], blocks: 1, classes: 10 },
  dataset: { name: 'fashion-mnist', split: 'train', evalSplit: 'test', augment: { crop: 2, flip: true } },
};
const INFERENCE: Json = {
  name: 'label-them',
  mode: 'inference',
  model: { sha256: 'b'.repeat(64) },
  dataset: { name: 'photos', split: 'test' },
  shardSize: 500,
};

describe('the job form read from a spec', () => {
  it('gives back the same job from the fields a pasted spec fills, whatever the form has no field for', () => {
    for (const raw of [README, VOLUNTEER, GPT, AUGMENTED, INFERENCE]) {
      const fields = fieldsOf(raw, TRAINING);
      expect(parseJobSpec(specOf(fields, raw))).toEqual(parseJobSpec(raw));
    }
    expect(fieldsOf(README, TRAINING)).toMatchObject({
      name: 'fmnist-mlp',
      kind: 'mlp',
      layers: '784,256,128,10',
      lr: '0.002',
      mode: 'sync',
      encoding: 'fp32',
    });
    expect(fieldsOf(GPT, TRAINING)).toMatchObject({ kind: 'other', epochs: '', lr: '0.003' });
    expect(fieldsOf(INFERENCE, TRAINING)).toMatchObject({ kind: 'inference', model: 'b'.repeat(64), shardSize: '500' });
  });

  it('shows augmentation as two fields, and drops it from the spec when both are cleared', () => {
    const fields = fieldsOf(AUGMENTED, TRAINING);
    expect(fields).toMatchObject({ crop: '2', flip: 'yes' });
    expect(fieldsOf(README, TRAINING)).toMatchObject({ crop: '', flip: 'no' });
    expect(specOf({ ...fields, flip: 'no' }, AUGMENTED).dataset).toMatchObject({ augment: { crop: 2, flip: false } });
    expect((specOf({ ...fields, crop: '0', flip: 'no' }, AUGMENTED).dataset as Json).augment).toBeUndefined();
    expect(() => fieldsOf({ ...AUGMENTED, dataset: { name: 'fashion-mnist', augment: { crop: 9 } } }, TRAINING)).toThrow(/^dataset\.augment\.crop: /);
  });

  it('changes what a field says and keeps the rest of the pasted spec; another mode or model kind drops what no longer fits', () => {
    const fields = fieldsOf(VOLUNTEER, TRAINING);
    const lr = specOf({ ...fields, lr: '0.01' }, VOLUNTEER);
    expect(lr).toMatchObject({ optimizer: { kind: 'adamw', lr: 0.01 }, checkpointEvery: 50, evalEvery: 59, local: { steps: 16, outerLr: 0.7 } });
    const sync = specOf({ ...fields, mode: 'sync' }, VOLUNTEER);
    expect(sync.local).toBeUndefined();
    expect(() => parseJobSpec(sync)).not.toThrow();
    const cnn = specOf({ ...fields, kind: 'cnn' }, VOLUNTEER);
    expect(cnn.model).toEqual({ kind: 'cnn', input: [1, 28, 28], kernel: 5, classes: 10, channels: [16, 32] });
    const sgd = specOf({ ...fieldsOf(GPT, TRAINING), optimizer: 'sgd' }, GPT);
    expect(sgd.optimizer).toEqual({ kind: 'sgd', lr: 0.003 }); // Adam's weight decay and schedule went with it
    expect(specOf({ ...fieldsOf(GPT, TRAINING), epochs: '2' }, GPT)).toMatchObject({ epochs: 2, rounds: 300, model: GPT.model });
  });

  it('refuses a spec the server would refuse, naming the path', () => {
    expect(() => fieldsOf({ ...README, globalBatch: 'many' }, TRAINING)).toThrow(/^globalBatch: /);
    expect(() => fieldsOf({ ...README, shardsize: 3 }, TRAINING)).toThrow('shardsize: no such field (did you mean shardSize?)');
  });

  it('offers presets by who computes the job: a home uplink gets the lean settings, a trusted native worker the fast ones', () => {
    const home = { ...TRAINING, mode: 'sync', encoding: 'fp32', ...PRESETS['home volunteers'].fields };
    const native = { ...TRAINING, ...PRESETS['trusted native workers'].fields };
    expect(presetOf(TRAINING)).toBe('home volunteers'); // the form's defaults are the volunteers'
    expect([presetOf(home), presetOf(native), presetOf({ ...native, encoding: 'fp16' })]).toEqual(['home volunteers', 'trusted native workers', 'custom']);
    expect(trafficOf(home)?.warning).toBeUndefined();
    expect(trafficOf(native)?.warning).toMatch(/More than a home connection/);
    expect(parseJobSpec(specOf(native))).toMatchObject({ mode: 'sync', shardSizing: 'by-rate', workers: 'native' });
  });
});
