import type { LayersSpec } from '../../protocol/layers';
import { adaptersOf, keptFromFile, loraScale } from '../../protocol/lora';
import { graphOf, inputSize, type OnnxModelSpec, parameterShapes, sizeOf, targetKind } from '../../protocol/model';
import { gradients, withoutDeadNodes } from './autodiff';
import { GraphBuilder } from './builder';
import type { Graph } from './ir';
import { layersForward } from './layers';
import { lossAndCorrect } from './losses';
import { type AdapterValues, producerOf, replay } from './structure';

/** The models that run as graphs: layer lists, and imported ONNX graphs. */
export type GraphModelSpec = LayersSpec | OnnxModelSpec;

/** The parameters that take no gradient: state, and a fine-tune's frozen tensors. */
function fixedParams(spec: GraphModelSpec): Set<string> {
  return new Set(
    parameterShapes(spec)
      .filter((s) => s.state !== undefined || (spec.kind === 'onnx' && keptFromFile(spec, s.name)))
      .map((s) => s.name),
  );
}

/** The batch dimension's symbol, as the ONNX engines name it. */
const BATCH = 'batch';

/** The parameters as graph parameters, from the flat vector when given (an export), else zeros (fed at run time). */
function addParams(g: GraphBuilder, spec: GraphModelSpec, weights?: Float32Array) {
  let offset = 0;
  const names = new Map<string, string>();
  for (const s of parameterShapes(spec)) {
    const n = sizeOf(s.shape);
    names.set(s.name, g.param(s.name, s.shape, weights ? weights.slice(offset, offset + n) : new Float32Array(n), s.state === undefined));
    offset += n;
  }
  if (weights && offset !== weights.length) throw new Error(`model has ${offset} parameters, got ${weights.length}`);
  return (name: string) => names.get(name) as string;
}

/**
 * The model's logits [batch, classes] from `x` [batch, inputs]. An imported graph's output is taken before its final
 * Softmax (or Sigmoid); a binary classifier's one logit z becomes [0, z], whose softmax is [1 - σ(z), σ(z)], so its
 * binary cross-entropy is the same softmax cross-entropy every model trains with.
 */
function logitsOf(g: GraphBuilder, spec: GraphModelSpec, x: string, param: (name: string) => string, training = false) {
  if (spec.kind === 'layers') return layersForward(g, spec, x, param, training);
  return { logits: importedLogits(g, spec, x, param), runningSteps: new Map<string, string>() };
}

function importedLogits(g: GraphBuilder, spec: OnnxModelSpec, x: string, param: (name: string) => string): string {
  const s = graphOf(spec);
  const shaped = g.reshape(x, s.input.shape);
  const out = replay(g, s, shaped, param, adaptersIn(spec, param));
  const last = producerOf(s, s.output);
  if (spec.loss === 'mse') return out; // a regression's outputs are the values themselves, squashed or not
  const squashed = last && (last.op === 'Softmax' || last.op === 'Sigmoid') ? replayedInput(g, out) : out;
  if (spec.loss === 'cross-entropy' || targetKind(spec) === 'multi-label') return squashed;
  if (s.outputWidth !== 1) throw new Error(`binary cross-entropy needs one output; ${s.output} has ${s.outputWidth}`);
  return g.op('MatMul', [squashed, g.constant(Float32Array.of(0, 1), [1, 2])]);
}

/** The values of a LoRA job's adapters, by the weight each adapts. */
function adaptersIn(spec: OnnxModelSpec, param: (name: string) => string): Map<string, AdapterValues> {
  if (!spec.lora) return new Map();
  const scale = loraScale(spec.lora);
  return new Map(adaptersOf(spec, graphOf(spec)).map((a) => [a.weight, { a: param(`${a.weight}.lora_a`), b: param(`${a.weight}.lora_b`), scale }]));
}

/** The input of the node that made `value` in the builder's graph (the logit under a final Softmax or Sigmoid). */
function replayedInput(g: GraphBuilder, value: string): string {
  const node = g.graph.nodes.find((n) => n.outputs.includes(value));
  return node ? node.inputs[0] : value;
}

/**
 * The training step in the engines' contract: inputs `x` [batch, inputs] and `y` shaped like the logits (one-hot
 * classes, at each position for a sequence, or the data set's target vectors); outputs `loss`, `correct` (losses.ts) and `grad.<param>` for each parameter,
 * by reverse-mode autodiff over the forward graph.
 */
export function trainingStepGraph(spec: GraphModelSpec): Graph {
  const g = new GraphBuilder();
  const x = g.input('x', [BATCH, inputSize(spec)]);
  const param = addParams(g, spec);
  const { logits, runningSteps } = logitsOf(g, spec, x, param, true);
  const y = g.input('y', [...g.shapeOf(logits)]); // [batch, classes], or [batch, positions, classes] for a sequence
  const { loss, correct } = lossAndCorrect(g, logits, y, targetKind(spec));
  g.output(g.alias(loss, 'loss'));
  g.output(g.alias(correct, 'correct'));
  const names = parameterShapes(spec).map((s) => s.name);
  const fixed = fixedParams(spec);
  const grads = gradients(g, 'loss', names.filter((n) => !fixed.has(n)).map(param));
  // A running statistic's slot carries its step instead: state is moved by the batch, not by the loss. A frozen
  // tensor's slot is zeros, and no backward is written for it.
  for (const name of names) {
    const slot = runningSteps.get(param(name)) ?? grads.get(param(name)) ?? g.op('ExpandAs', [g.constant(0), param(name)]);
    g.output(g.alias(slot, `grad.${name}`));
  }
  withoutDeadNodes(g);
  return g.graph;
}

/** The symbol an exported language model's sequence length goes by. */
const SEQUENCE = 'sequence';

/**
 * A language model's graph for use outside the grid, as Hugging Face's exports read: `input_ids` [batch, sequence]
 * to `logits` [batch, sequence, vocab], for any sequence up to its block (the position table and the causal mask are
 * cut to the sequence it is given).
 */
export function languageModelGraph(spec: LayersSpec, weights?: Float32Array): Graph {
  const g = new GraphBuilder();
  const ids = g.input('input_ids', [BATCH, SEQUENCE]);
  g.output(g.alias(layersForward(g, spec, ids, addParams(g, spec, weights)).logits, 'logits'));
  return g.graph;
}

/** The inference graph: `input` [batch, inputs] to `logits` and `probabilities`, parameters as inputs or, given weights, stored. */
export function inferenceStepGraph(spec: GraphModelSpec, weights?: Float32Array): Graph {
  const g = new GraphBuilder();
  const x = g.input('input', [BATCH, inputSize(spec)]);
  const logits = g.alias(logitsOf(g, spec, x, addParams(g, spec, weights)).logits, 'logits');
  g.output(logits);
  // Probabilities as the targets read them: a softmax over classes, each label's sigmoid; a regression has values only.
  const kind = targetKind(spec);
  if (kind !== 'regression') g.output(g.alias(kind === 'class' ? g.op('Softmax', [logits], { axis: -1 }) : g.op('Sigmoid', [logits]), 'probabilities'));
  return g.graph;
}
