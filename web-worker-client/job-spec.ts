// The job form's fields and the spec they make: plain functions, so they are tested without a browser.
import { parseTrainingSpec } from '../protocol/job';
import { parameterCount } from '../protocol/model';
import { HOME_BYTES_PER_HOUR, REFERENCE_SAMPLES_PER_SEC, shardTraffic } from '../protocol/traffic';

/** The form's fields as typed, by the name of the spec path they fill. */
export type Fields = Record<string, string>;

export const TRAINING: Fields = {
  name: 'fashion-mnist-mlp',
  kind: 'mlp',
  layers: '784,256,128,10',
  channels: '16,32',
  input: '1,28,28',
  layerList: JSON.stringify([
    { type: 'conv2d', filters: 8, kernel: 3 },
    { type: 'relu' },
    { type: 'maxPool', size: 2 },
    { type: 'residual', layers: [{ type: 'conv2d', filters: 8, kernel: 3 }, { type: 'relu' }] },
    { type: 'maxPool', size: 2 },
    { type: 'dense', units: 10 },
  ]),
  loss: 'cross-entropy',
  dataset: 'fashion-mnist/train',
  evalSplit: 'test',
  optimizer: 'adamw',
  lr: '0.001',
  globalBatch: '512',
  shardSize: '128',
  epochs: '5',
  mode: 'local', // volunteer mode, as the bytes benchmark measured it: 16 local steps, int8 both ways
  steps: '16',
  shardSizing: 'fixed',
  encoding: 'int8',
  download: 'int8-delta',
  rule: 'mean',
  fraction: '0',
  model: '',
  output: '',
  postprocess: 'argmax',
};

const num = (s: string) => (s.trim() === '' ? undefined : Number(s));
const list = (s: string) => s.split(',').map((x) => Number(x.trim()));

/** The layer list as typed: JSON, or an error that names its field. */
function layerList(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`layerList: not JSON (${(e as Error).message})`);
  }
}

/** The training model the fields describe. */
function modelOf(f: Fields): Record<string, unknown> {
  if (f.kind === 'cnn') return { kind: 'cnn', input: [1, 28, 28], channels: list(f.channels), kernel: 5, classes: 10 };
  if (f.kind === 'layers') return { kind: 'layers', input: list(f.input), layers: layerList(f.layerList) };
  if (f.kind === 'finetune') return { kind: 'onnx', sha256: f.model, loss: f.loss };
  return { kind: 'mlp', layers: list(f.layers) };
}

/** The spec the fields describe (not yet checked: parseJobSpec does that, as the server will). */
export function specOf(f: Fields): Record<string, unknown> {
  const [name, split] = f.dataset.split('/');
  if (f.kind === 'inference')
    return {
      name: f.name,
      mode: 'inference',
      model: { sha256: f.model, ...(f.output ? { output: f.output } : {}) },
      dataset: { name, split },
      shardSize: num(f.shardSize),
      postprocess: f.postprocess,
    };
  const model = modelOf(f);
  return {
    name: f.name,
    mode: f.mode,
    model,
    dataset: { name, split, ...(f.evalSplit ? { evalSplit: f.evalSplit } : {}) },
    optimizer: { kind: f.optimizer, lr: num(f.lr) },
    globalBatch: num(f.globalBatch),
    shardSize: num(f.shardSize),
    epochs: num(f.epochs),
    ...(f.mode === 'local' ? { local: { steps: num(f.steps) } } : { shardSizing: f.shardSizing }),
    encoding: f.encoding,
    download: f.download,
    aggregation: { rule: f.rule },
    redundancy: { fraction: num(f.fraction) },
    ...(f.evalSplit ? { evalEvery: 50 } : {}),
  };
}

/** The form field an error message is about: its spec path's last part when it names a field, else the first field it names. */
export function fieldOf(message: string, fields: string[]): string | undefined {
  const path = /^([\w.[\]]+): /.exec(message)?.[1];
  const parts = path?.split(/[.[\]]/).filter(Boolean) ?? [];
  const byPath = [...parts].reverse().find((p) => fields.includes(p));
  return byPath ?? fields.find((f) => new RegExp(`\\b${f}\\b`).test(message));
}

const mb = (bytes: number) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${(bytes / 1e6).toFixed(bytes >= 1e7 ? 0 : 2)} MB`);

/**
 * What the spec the fields make costs a volunteer's connection: per shard, and per hour for a volunteer computing
 * REFERENCE_SAMPLES_PER_SEC, with a warning past a home connection's share; undefined while the spec is incomplete or
 * its model's size is not known here.
 */
export function trafficOf(f: Fields): { line: string; warning?: string } | undefined {
  try {
    const spec = parseTrainingSpec(specOf(f));
    if (spec.model.kind === 'onnx') return undefined; // its size is known once the coordinator reads the file
    const t = shardTraffic(spec, parameterCount(spec.model));
    const rate = REFERENCE_SAMPLES_PER_SEC.toLocaleString('en');
    const line = `Each shard: ${mb(t.down)} down, ${mb(t.up)} up for ${t.samples} samples; a volunteer computing ${rate} samples/s moves ${mb(t.perHourAtReference)} an hour.`;
    if (t.perHourAtReference <= HOME_BYTES_PER_HOUR) return { line };
    const warning = `More than a home connection should give (${mb(HOME_BYTES_PER_HOUR)} an hour): local steps, int8 results and int8 deltas cut it most.`;
    return { line, warning };
  } catch {
    return undefined;
  }
}
