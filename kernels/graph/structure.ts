import { GridError } from '../../protocol/errors';
import type { GraphStructure } from '../../protocol/graph-spec';
import type { GraphBuilder } from './builder';
import type { ImportedModel } from './import-onnx';

/** Constant values a structure may carry in all (small tensors of formulas; weights are parameters). */
const MAX_CONSTANT_VALUES = 65_536;

/** An imported graph's structure for a job spec: ops, shapes and small constants, no parameter values. */
export function structureOf(m: ImportedModel): GraphStructure {
  const { graph } = m.builder;
  const out = m.builder.shapeOf(m.output);
  const sized = out.slice(1).every((d) => typeof d === 'number');
  if (!sized || (out.length !== 2 && out.length !== 3))
    throw new GridError('BAD_MODEL', `output ${m.output} has shape [${out}]; training needs [batch, n] or [batch, positions, n]`);
  const constantValues = graph.constants.reduce((n, c) => n + c.data.length, 0);
  if (constantValues > MAX_CONSTANT_VALUES) throw new GridError('BAD_MODEL', `the graph has ${constantValues} constant values; at most ${MAX_CONSTANT_VALUES}`);
  return {
    input: { name: m.input, shape: m.builder.shapeOf(m.input).map((d) => (typeof d === 'string' ? 'batch' : d)) },
    output: m.output,
    outputWidth: out[out.length - 1] as number,
    ...(out.length === 3 ? { positions: out[1] as number } : {}),
    params: graph.params.map((p) => ({ name: p.name, shape: [...p.shape] })),
    constants: graph.constants.map((c) => ({ name: c.name, shape: [...c.shape], data: [...c.data] })),
    nodes: graph.nodes.map((n) => ({ op: n.op, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })),
  };
}

/** A low-rank adapter on a weight: the values of its A [in, rank] and B [rank, out], and the scale of their product. */
export interface AdapterValues {
  a: string;
  b: string;
  scale: number;
}

/**
 * Rebuild a structure's nodes on `g`, from `x` (its input, [batch, ...]) and the parameters `param` names; every
 * op and shape is checked again by the builder. A matrix product whose weight has an adapter in `adapters` adds
 * scale · x A B to its output (LoRA). Returns the value of its output.
 */
export function replay(g: GraphBuilder, s: GraphStructure, x: string, param: (name: string) => string, adapters = new Map<string, AdapterValues>()): string {
  const values = new Map<string, string>([[s.input.name, x]]);
  for (const p of s.params) values.set(p.name, param(p.name));
  for (const c of s.constants) values.set(c.name, g.constant(Float32Array.from(c.data), c.shape));
  for (const node of s.nodes) {
    const inputs = node.inputs.map((i) => {
      const v = values.get(i);
      if (v === undefined) throw new GridError('BAD_JOB_SPEC', `model graph: ${node.op} reads ${i} before it is computed`);
      return v;
    });
    const made = [...g.ops(node.op, inputs, node.attrs, node.outputs.length)]; // a copy: the node keeps its own outputs
    const adapter = (node.op === 'MatMul' || node.op === 'Gemm') && adapters.get(node.inputs[1]);
    if (adapter)
      made[0] = g.op('Add', [made[0], g.op('Mul', [g.op('MatMul', [g.op('MatMul', [inputs[0], adapter.a]), adapter.b]), g.constant(adapter.scale)])]);
    node.outputs.forEach((o, i) => values.set(o, made[i]));
  }
  const out = values.get(s.output);
  if (out === undefined) throw new GridError('BAD_JOB_SPEC', `model graph: no value ${s.output}`);
  return out;
}

/** The op that produced `value` in the structure, if any. */
export const producerOf = (s: GraphStructure, value: string) => s.nodes.find((n) => n.outputs.includes(value));
