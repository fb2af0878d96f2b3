// The job form's fields and the spec they make: plain functions, so they are tested without a browser.

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
  mode: 'sync',
  steps: '16',
  shardSizing: 'fixed',
  encoding: 'fp32',
  download: 'fp32',
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
