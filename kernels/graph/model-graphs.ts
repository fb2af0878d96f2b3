import type { LayersSpec } from '../../protocol/layers';
import { classCount, inputSize, parameterShapes, sizeOf } from '../../protocol/model';
import { gradients } from './autodiff';
import { GraphBuilder } from './builder';
import type { Graph } from './ir';
import { layersForward } from './layers';

/** The batch dimension's symbol, as the ONNX engines name it. */
const BATCH = 'batch';

/** The parameters as graph parameters, from the flat vector when given (an export), else zeros (fed at run time). */
function addParams(g: GraphBuilder, spec: LayersSpec, weights?: Float32Array) {
  let offset = 0;
  const names = new Map<string, string>();
  for (const s of parameterShapes(spec)) {
    const n = sizeOf(s.shape);
    names.set(s.name, g.param(s.name, s.shape, weights ? weights.slice(offset, offset + n) : new Float32Array(n)));
    offset += n;
  }
  if (weights && offset !== weights.length) throw new Error(`model has ${offset} parameters, got ${weights.length}`);
  return (name: string) => names.get(name) as string;
}

/**
 * The training step in the engines' contract: inputs `x` [batch, inputs] and one-hot `y` [batch, classes];
 * outputs `loss` (mean softmax cross-entropy), `correct` (the label's logit the largest) and `grad.<param>` for each
 * parameter, by reverse-mode autodiff over the forward graph.
 */
export function trainingStepGraph(spec: LayersSpec): Graph {
  const g = new GraphBuilder();
  const x = g.input('x', [BATCH, inputSize(spec)]);
  const y = g.input('y', [BATCH, classCount(spec)]);
  const param = addParams(g, spec);
  const logits = layersForward(g, spec, x, param);
  const logp = g.op('LogSoftmax', [logits], { axis: -1 });
  const perSample = g.op('ReduceSum', [g.op('Mul', [y, logp])], { axes: [1], keepdims: 0 });
  const loss = g.alias(g.op('Neg', [g.op('ReduceMean', [perSample], { axes: [0], keepdims: 0 })]), 'loss');
  // A sample is right when its label's logit is the largest, in float ops only: counted by ArgMax's int64 results,
  // onnxruntime-web's webgpu provider was 2 of 9 off the CPU here while its logits agreed within 1e-4.
  const labelled = g.op('ReduceSum', [g.op('Mul', [y, logits])], { axes: [1], keepdims: 0 });
  const hits = g.op('GreaterOrEqual', [labelled, g.op('ReduceMax', [logits], { axes: [1], keepdims: 0 })]);
  g.output(loss);
  g.output(g.alias(g.op('ReduceSum', [hits], { keepdims: 0 }), 'correct'));
  const names = parameterShapes(spec).map((s) => s.name);
  const grads = gradients(g, loss, names.map(param));
  for (const name of names) g.output(g.alias(grads.get(param(name)) as string, `grad.${name}`));
  return g.graph;
}

/** The inference graph: `input` [batch, inputs] to `logits` and `probabilities`, parameters as inputs or, given weights, stored. */
export function inferenceStepGraph(spec: LayersSpec, weights?: Float32Array): Graph {
  const g = new GraphBuilder();
  const x = g.input('input', [BATCH, inputSize(spec)]);
  const logits = g.alias(layersForward(g, spec, x, addParams(g, spec, weights)), 'logits');
  g.output(logits);
  g.output(g.alias(g.op('Softmax', [logits], { axis: -1 }), 'probabilities'));
  return g.graph;
}
