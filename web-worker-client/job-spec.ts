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
  crop: '',
  flip: 'no',
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
  workers: 'any',
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

/** A spec or a part of one, as JSON. */
export type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `over` laid on `under`: objects merged key by key, a key `over` sets to undefined removed, and an object of another
 * `kind` (a model, an optimizer) replacing the other whole, since their fields do not mix.
 */
export function layered(under: unknown, over: unknown): unknown {
  if (!isObject(over)) return over;
  const out: Json = isObject(under) && (!('kind' in over) || over.kind === under.kind) ? { ...under } : {};
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) delete out[key];
    else out[key] = layered(out[key], value);
  }
  return out;
}

/** The model kind each form kind trains; 'other' is a model the form has no fields for (a preset from the JSON). */
const MODEL_KIND: Record<string, string> = { mlp: 'mlp', cnn: 'cnn', layers: 'layers', finetune: 'onnx' };

/** The model fields the form owns, for its kind (none for 'other': the JSON's model is kept as it is). */
function modelOf(f: Fields): Json | undefined {
  if (f.kind === 'cnn') return { kind: 'cnn', channels: list(f.channels) };
  if (f.kind === 'layers') return { kind: 'layers', input: list(f.input), layers: layerList(f.layerList) };
  if (f.kind === 'finetune') return { kind: 'onnx', sha256: f.model, loss: f.loss };
  if (f.kind === 'mlp') return { kind: 'mlp', layers: list(f.layers) };
  return undefined;
}

/** The augmentation fields as the spec's `dataset.augment`, left out when they add nothing. */
function augmentOf(f: Fields): Json | undefined {
  const crop = num(f.crop) ?? 0;
  return crop === 0 && f.flip !== 'yes' ? undefined : { crop, flip: f.flip === 'yes' };
}

/** What the form fills in that no field shows, under anything the JSON says. */
function defaultsOf(f: Fields): Json {
  if (f.kind === 'inference') return {};
  const cnn = f.kind === 'cnn' ? { model: { kind: 'cnn', input: [1, 28, 28], kernel: 5, classes: 10 } } : {};
  return { ...cnn, ...(f.evalSplit ? { evalEvery: 50 } : {}) };
}

/** The spec paths the fields own, each set (or removed, as undefined) by its field. */
function ownedBy(f: Fields): Json {
  const [name, split] = f.dataset.split('/');
  if (f.kind === 'inference')
    return {
      name: f.name,
      mode: 'inference',
      model: { sha256: f.model, output: f.output || undefined },
      dataset: { name, split },
      shardSize: num(f.shardSize),
      postprocess: f.postprocess,
    };
  const model = modelOf(f);
  return {
    name: f.name,
    mode: f.mode,
    ...(model ? { model } : {}),
    dataset: { name, split, evalSplit: f.evalSplit || undefined, augment: augmentOf(f) },
    optimizer: { kind: f.optimizer, lr: num(f.lr) },
    globalBatch: num(f.globalBatch),
    shardSize: num(f.shardSize),
    epochs: num(f.epochs),
    local: f.mode === 'local' ? { steps: num(f.steps) } : undefined,
    shardSizing: f.mode === 'local' ? undefined : f.shardSizing,
    encoding: f.encoding,
    download: f.download,
    workers: f.workers,
    aggregation: { rule: f.rule },
    redundancy: { fraction: num(f.fraction) },
  };
}

/**
 * The spec the fields describe, laid on `base` (the JSON last pasted or typed), so what no field shows (rounds,
 * checkpointEvery, a schedule, a preset model) is kept. Not yet checked: parseJobSpec does that, as the server will.
 */
export function specOf(f: Fields, base: Json = {}): Json {
  const inference = f.kind === 'inference';
  const kept = (base.mode === 'inference') === inference ? { ...base } : {};
  const model = kept.model as Json | undefined;
  if (!inference && f.kind !== 'other' && model?.kind !== MODEL_KIND[f.kind]) delete kept.model; // another kind of model: the form's
  return layered(layered(defaultsOf(f), kept), ownedBy(f)) as Json;
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
export function trafficOf(f: Fields, base: Json = {}): { line: string; warning?: string } | undefined {
  try {
    const spec = parseTrainingSpec(specOf(f, base));
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
