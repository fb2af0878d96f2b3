import { GridError } from './errors';
import { type GraphStructure, type OnnxModelSpec, onnxModelSpec } from './graph-spec';
import { type LayersSpec, layerParams, layersSpec } from './layers';
import { adapterShapes, adaptersOf } from './lora';
import { gptSpec, resnetSpec } from './presets';
import { arr, type Infer, int, lit, obj, opt, variant } from './schema';

export const mlpSpec = obj({
  kind: lit('mlp'),
  /** Layer widths from input to classes, e.g. [784, 256, 128, 10]. */
  layers: arr(int(1, 1 << 16), 16, 2),
  activation: opt(lit('relu', 'gelu', 'tanh')),
});

export const cnnSpec = obj({
  kind: lit('cnn'),
  /** Channels, height, width of one input sample. */
  input: arr(int(1, 4096), 3, 3),
  /** Output channels of the two conv layers (each conv is followed by ReLU and 2x2 max-pool). */
  channels: arr(int(1, 512), 2, 2),
  kernel: lit(3, 5),
  classes: int(2, 4096),
});

export const modelSpec = variant('kind', { mlp: mlpSpec, cnn: cnnSpec, layers: layersSpec, onnx: onnxModelSpec, resnet: resnetSpec, gpt: gptSpec });

export type MlpSpec = Infer<typeof mlpSpec>;
export type CnnSpec = Infer<typeof cnnSpec>;
export type ModelSpec = MlpSpec | CnnSpec | LayersSpec | OnnxModelSpec;
export type { LayersSpec, OnnxModelSpec };

export interface TensorShape {
  name: string;
  shape: number[];
  /**
   * How a new job starts it: He-normal for weights and zeros for vectors unless it says ones (a norm's scale), zeros
   * (an adapter's B) or embedding (a token or position table: normal with std EMBEDDING_STD).
   */
  init?: 'ones' | 'zeros' | 'embedding';
  /**
   * State, not trained: `running` statistics move toward each batch's own (a layer list's batch norm; their slot of a
   * gradient carries batch minus running); `kept` ones stay as the file has them (an imported model's batch norm).
   */
  state?: 'running' | 'kept';
}

/** Where the tensors `which` picks lie in the flat parameter vector. */
export function rangesOf(model: ModelSpec, which: (s: TensorShape) => boolean): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let off = 0;
  for (const s of parameterShapes(model)) {
    const n = sizeOf(s.shape);
    if (which(s)) out.push({ start: off, end: off + n });
    off += n;
  }
  return out;
}

/** Where the tensors of one kind of state lie in the flat parameter vector. */
export const stateRanges = (model: ModelSpec, state: TensorShape['state']) => rangesOf(model, (s) => s.state === state);

/** Parameter tensors of a model in wire order; the flat parameter vector is their concatenation. */
export function parameterShapes(model: ModelSpec): TensorShape[] {
  if (model.kind === 'layers') return layerParams(model).params;
  if (model.kind === 'onnx') {
    const graph = graphOf(model);
    const kept = keptStatistics(graph);
    const file = graph.params.map((p) => (kept.has(p.name) ? { ...p, state: 'kept' as const } : p));
    return model.lora ? [...file, ...adapterShapes(adaptersOf(model, graph), model.lora.rank)] : file;
  }
  if (model.kind === 'mlp') {
    const out: TensorShape[] = [];
    for (let i = 0; i + 1 < model.layers.length; i++) {
      out.push({ name: `w${i}`, shape: [model.layers[i], model.layers[i + 1]] });
      out.push({ name: `b${i}`, shape: [model.layers[i + 1]] });
    }
    return out;
  }
  const [c0, h0, w0] = model.input;
  const [c1, c2] = model.channels;
  const k = model.kernel;
  const h2 = Math.floor(Math.floor(h0 / 2) / 2);
  const w2 = Math.floor(Math.floor(w0 / 2) / 2);
  return [
    { name: 'conv1.w', shape: [c1, c0, k, k] },
    { name: 'conv1.b', shape: [c1] },
    { name: 'conv2.w', shape: [c2, c1, k, k] },
    { name: 'conv2.b', shape: [c2] },
    { name: 'fc.w', shape: [c2 * h2 * w2, model.classes] },
    { name: 'fc.b', shape: [model.classes] },
  ];
}

/** Elements in a tensor of this shape (the one shape product of the project). */
export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function parameterCount(model: ModelSpec): number {
  return parameterShapes(model).reduce((n, t) => n + sizeOf(t.shape), 0);
}

/** The parameters an imported graph's BatchNormalization nodes read as mean and variance: statistics, not weights. */
function keptStatistics(graph: GraphStructure): Set<string> {
  return new Set(graph.nodes.filter((n) => n.op === 'BatchNormalization').flatMap((n) => n.inputs.slice(3, 5)));
}

/** An imported model's graph, which the coordinator fills in when the job is submitted. */
export function graphOf(model: OnnxModelSpec) {
  if (!model.graph) throw new GridError('BAD_JOB_SPEC', `model ${model.sha256} has not been read yet (the coordinator reads it when the job is submitted)`);
  return model.graph;
}

export const inputSize = (model: ModelSpec) => {
  if (model.kind === 'mlp') return model.layers[0];
  if (model.kind === 'onnx') return sizeOf(graphOf(model).input.shape.slice(1) as number[]);
  return sizeOf(model.input);
};

/** Classes the model tells apart: a binary classifier's one output counts two (0 and 1). */
export type TargetKind = 'class' | 'multi-label' | 'regression';

/** What a model's outputs train against: set from the data set when the job is submitted (a class unless it says). */
export const targetKind = (model: ModelSpec): TargetKind => (model.kind === 'layers' || model.kind === 'onnx' ? (model.targets ?? 'class') : 'class');

/** The positions a model gives a class at (a language model's block), or undefined for one output per sample. */
export const outputPositions = (model: ModelSpec) =>
  model.kind === 'layers' ? layerParams(model).positions : model.kind === 'onnx' ? graphOf(model).positions : undefined;

/** The model's outputs: one per class (a binary classifier's one logit counts as two classes), or per target. */
export const classCount = (model: ModelSpec) => {
  if (model.kind === 'mlp') return model.layers[model.layers.length - 1];
  if (model.kind === 'layers') return layerParams(model).width;
  if (model.kind === 'onnx') return model.loss === 'binary-cross-entropy' && targetKind(model) === 'class' ? 2 : graphOf(model).outputWidth;
  return model.classes;
};
