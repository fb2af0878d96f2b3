// From a spec to the form's fields (the other way from job-spec.ts), and the presets the form offers by intent.
import { parseJobSpec } from '../protocol/job';
import type { Fields, Json } from './job-spec';

const FORM_KIND: Record<string, string> = { mlp: 'mlp', cnn: 'cnn', layers: 'layers', onnx: 'finetune' };
const text = (v: unknown) => (v === undefined ? '' : String(v));
const joined = (v: unknown) => (Array.isArray(v) ? v.join(',') : '');

/**
 * The fields a spec fills, the others left as `current` has them. The spec is checked first by the server's own
 * schema (its error names the path); values it leaves out are read with the schema's defaults, the model as written
 * (a preset such as `gpt` has no fields here: its kind is 'other' and the JSON keeps it).
 */
export function fieldsOf(raw: Json, current: Fields): Fields {
  const spec = parseJobSpec(raw);
  const f: Fields = { ...current, name: spec.name, dataset: `${spec.dataset.name}/${spec.dataset.split}`, shardSize: text(spec.shardSize) };
  if (spec.mode === 'inference') return { ...f, kind: 'inference', model: spec.model.sha256, output: text(spec.model.output), postprocess: spec.postprocess };
  const model = raw.model as Json;
  Object.assign(f, {
    kind: FORM_KIND[String(model.kind)] ?? 'other',
    evalSplit: text(spec.dataset.evalSplit),
    crop: text(spec.dataset.augment?.crop || undefined),
    flip: spec.dataset.augment?.flip ? 'yes' : 'no',
    optimizer: spec.optimizer.kind,
    lr: text(spec.optimizer.lr),
    globalBatch: text(spec.globalBatch),
    epochs: text(spec.epochs),
    mode: spec.mode,
    encoding: spec.encoding,
    download: spec.download,
    workers: spec.workers,
    rule: spec.aggregation.rule,
    fraction: text(spec.redundancy.fraction),
  });
  if (spec.mode === 'local') f.steps = text(spec.local.steps);
  else f.shardSizing = spec.shardSizing;
  if (model.kind === 'mlp') f.layers = joined(model.layers);
  if (model.kind === 'cnn') f.channels = joined(model.channels);
  if (model.kind === 'layers') Object.assign(f, { input: joined(model.input), layerList: JSON.stringify(model.layers) });
  if (model.kind === 'onnx') Object.assign(f, { model: text(model.sha256), loss: text(model.loss ?? 'cross-entropy') });
  return f;
}

/** Settings by who will compute the job: what the bytes benchmark measured for each kind of connection. */
export const PRESETS: Record<string, { intent: string; fields: Fields }> = {
  'home volunteers': {
    intent: 'home volunteers: local steps, int8 both ways (a home uplink)',
    fields: { mode: 'local', steps: '16', encoding: 'int8', download: 'int8-delta', workers: 'any' },
  },
  'trusted native workers': {
    intent: 'trusted native workers: synchronous fp32, shards sized by speed (a data-centre link)',
    fields: { mode: 'sync', shardSizing: 'by-rate', encoding: 'fp32', download: 'fp32', workers: 'native' },
  },
};

/** The preset the fields match, or 'custom'. */
export const presetOf = (f: Fields) =>
  Object.entries(PRESETS).find(([, p]) => Object.entries(p.fields).every(([key, value]) => f[key] === value))?.[0] ?? 'custom';
