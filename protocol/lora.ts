// Low-rank adapters (LoRA, Hu et al. 2021) on a registered model: which weights get one, their shapes, and the part
// of the parameter vector that trains and crosses the wire.
import { GridError } from './errors';
import { type GraphStructure, namedBy, type OnnxModelSpec } from './graph-spec';

/** A weight with an adapter: its name and the [in, out] it maps (a Gemm with transB stores it as [out, in]). */
export interface Adapter {
  weight: string;
  in: number;
  out: number;
  transposed: boolean;
}

const bad = (msg: string) => new GridError('BAD_JOB_SPEC', msg);
const ADAPTER = /\.lora_[ab]$/;

/** Whether a parameter is an adapter's (what a LoRA job trains) rather than the file's. */
export const isAdapter = (name: string) => ADAPTER.test(name);

/** Whether an imported model's parameter stays as the file has it: frozen by a pattern, or any of the file's in a LoRA job. */
export const keptFromFile = (model: OnnxModelSpec, name: string) => (model.lora ? !isAdapter(name) : (model.frozen ?? []).some((p) => namedBy(p, name)));

/** The scale of an adapter's product: alpha / rank (alpha defaults to the rank: a scale of 1). */
export const loraScale = (lora: { rank: number; alpha?: number }) => (lora.alpha ?? lora.rank) / lora.rank;

/** The weights `model.lora` adapts, checked against its graph: each pattern names at least one weight of a matrix product. */
export function adaptersOf(model: OnnxModelSpec, graph: GraphStructure): Adapter[] {
  const lora = model.lora;
  if (!lora) return [];
  const shapes = new Map(graph.params.map((p) => [p.name, p.shape]));
  if (graph.params.some((p) => isAdapter(p.name))) throw bad('lora: the model already has tensors named like adapters (.lora_a, .lora_b)');
  const found = new Map<string, Adapter>();
  for (const pattern of lora.targets) {
    const named = graph.params.filter((p) => namedBy(pattern, p.name));
    if (!named.length) throw bad(`lora.targets: ${pattern} names no parameter (it has ${graph.params.map((p) => p.name).join(', ')})`);
    for (const p of named) found.set(p.name, weightUse(graph, p.name, shapes.get(p.name) ?? []));
  }
  return [...found.values()];
}

/** How `name` is used: as the weight of a MatMul, or of a Gemm without transA; anything else cannot take an adapter. */
function weightUse(graph: GraphStructure, name: string, shape: readonly number[]): Adapter {
  const uses = graph.nodes.filter((n) => n.inputs.includes(name));
  const ok = uses.length > 0 && uses.every((n) => (n.op === 'MatMul' || (n.op === 'Gemm' && !n.attrs.transA)) && n.inputs[1] === name);
  if (!ok || shape.length !== 2) throw bad(`lora.targets: ${name} is not the [in, out] weight of a MatMul or Gemm`);
  const transposed = uses.some((n) => n.op === 'Gemm' && Boolean(n.attrs.transB));
  return { weight: name, in: transposed ? shape[1] : shape[0], out: transposed ? shape[0] : shape[1], transposed };
}

/** The adapters' tensors, after the file's in the parameter vector: A [in, rank] then B [rank, out] for each weight. */
export const adapterShapes = (adapters: Adapter[], rank: number) =>
  adapters.flatMap((a) => [
    { name: `${a.weight}.lora_a`, shape: [a.in, rank] },
    { name: `${a.weight}.lora_b`, shape: [rank, a.out], init: 'zeros' as const },
  ]);

/**
 * The part of the parameter vector a result carries: for a LoRA job its adapters (the end of the vector: nothing
 * else trains), else all of it.
 */
export function wireRange(model: OnnxModelSpec | { kind: string }, total: number): { start: number; count: number } {
  if (model.kind !== 'onnx' || !('lora' in model) || !model.lora || !('graph' in model) || !model.graph) return { start: 0, count: total };
  let count = adapterValues.get(model);
  if (count === undefined) {
    count = adapterShapes(adaptersOf(model, model.graph), model.lora.rank).reduce((n, s) => n + s.shape[0] * s.shape[1], 0);
    adapterValues.set(model, count);
  }
  return { start: total - count, count };
}

/** Each LoRA spec's adapter count, worked out once: a job's spec is one object, and every result asks. */
const adapterValues = new WeakMap<object, number>();

/**
 * A LoRA model folded into the file's form: each adapted weight W becomes W + scale · A B (stored transposed where the
 * Gemm reads it so), the adapters dropped; what a merged export is made of.
 */
export function mergedModel(model: OnnxModelSpec, graph: GraphStructure, params: Float32Array): { model: OnnxModelSpec; params: Float32Array } {
  const { lora, ...rest } = model;
  if (!lora) return { model, params };
  const offsets = new Map<string, number>();
  let off = 0;
  for (const p of graph.params) {
    offsets.set(p.name, off);
    off += p.shape.reduce((a, b) => a * b, 1);
  }
  const merged = params.slice(0, off); // the file's tensors, then each adapter's A and B
  const scale = loraScale(lora);
  for (const a of adaptersOf(model, graph)) {
    const w = offsets.get(a.weight) as number;
    const [aAt, bAt] = [off, off + a.in * lora.rank];
    off = bAt + lora.rank * a.out;
    for (let i = 0; i < a.in; i++)
      for (let j = 0; j < a.out; j++) {
        let sum = 0;
        for (let k = 0; k < lora.rank; k++) sum += params[aAt + i * lora.rank + k] * params[bAt + k * a.out + j];
        merged[w + (a.transposed ? j * a.in + i : i * a.out + j)] += scale * sum;
      }
  }
  return { model: rest, params: merged };
}
