import { GraphBuilder as OnnxBuilder } from '../onnx/graph';
import type { Graph } from './ir';
import type { OnnxWriter } from './op';
import { opNamed } from './registry';

export interface EmitOptions {
  /** Parameters as graph inputs (a training step fed by the worker), or as initializers holding their values (an export). */
  params: 'inputs' | 'initializers';
  /** Values to expose besides the graph's outputs (the gradients of a training step). */
  extraOutputs?: string[];
  name?: string;
  metadata?: Record<string, string>;
  /** Inputs the file declares as int64 (token ids, as tokenizers give them); the IR carries them as floats. */
  int64Inputs?: readonly string[];
}

/** The IR graph as an ONNX model in standard ops (opset 17), every IR op written by its own `onnx` rule. */
export function emitOnnx(graph: Graph, o: EmitOptions): Uint8Array {
  const b = new OnnxBuilder();
  const dims = (name: string) => [...(graph.shapes.get(name) ?? [])];
  for (const input of graph.inputs) b.input(input.name, [...input.shape], o.int64Inputs?.includes(input.name) ? 'int64' : 'float');
  for (const p of graph.params) {
    if (o.params === 'inputs') b.input(p.name, [...p.shape]);
    else b.weight(p.name, [...p.shape], p.init);
  }
  for (const c of graph.constants) b.weight(c.name, [...c.shape], c.data);
  let internal = 0;
  const w: OnnxWriter = {
    // Values an op's ONNX form adds get names of their own: they must never meet the IR's (`ReduceSum_54`).
    node: (op, inputs, attrs = {}, outputs) => b.op(op, inputs, attrs, outputs?.length ? outputs : `__onnx_${internal++}_${op}`),
    ints: (values) => b.ints(values),
    floats: (values) => b.weight(`__onnx_${internal++}_floats`, [values.length], Float32Array.from(values)),
    shapeOf: (name) => graph.shapes.get(name) ?? [],
  };
  for (const node of graph.nodes) {
    const def = opNamed(node.op);
    if (def.onnx) def.onnx(w, node);
    else w.node(node.op, [...node.inputs], node.attrs, [...node.outputs]);
  }
  for (const out of [...graph.outputs, ...(o.extraOutputs ?? [])]) b.output(out, out, dims(out));
  b.dropUnread();
  return b.build(o.name ?? 'grid-graph', o.metadata);
}
