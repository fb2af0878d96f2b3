import type { onnx as Onnx } from 'onnx-proto';
import { GridError } from '../../protocol/errors';
import { onnx } from '../onnx/graph';
import { GraphBuilder } from './builder';
import type { Attr, Dim } from './ir';

/** An imported model: its graph, the data input and the output named, and the initializers as trainable parameters. */
export interface ImportedModel {
  builder: GraphBuilder;
  input: string;
  output: string;
}

const bad = (msg: string) => new GridError('BAD_MODEL', msg);

/** Ops whose inputs after the first are constant lists the IR takes as attributes (opset 13+ moved these to inputs). */
const LIST_INPUTS: Record<string, string[]> = {
  Reshape: ['shape'],
  Unsqueeze: ['axes'],
  Squeeze: ['axes'],
  ReduceSum: ['axes'],
  ReduceMean: ['axes'],
  ReduceMax: ['axes'],
  Slice: ['starts', 'ends', 'axes', 'steps'],
};

/** A float or int64 tensor's values (raw bytes or the typed lists), as numbers. */
function tensorValues(t: Onnx.ITensorProto): { dims: number[]; values: Float32Array; float: boolean } {
  const dims = (t.dims ?? []).map(Number);
  const type = t.dataType ?? 0;
  const T = onnx.TensorProto.DataType;
  // A fresh copy: decoded from a Node Buffer, rawData is a view into a shared pool, and its `.buffer` is not its bytes.
  const raw = t.rawData?.byteLength ? new Uint8Array(t.rawData) : undefined;
  if (type === T.FLOAT) {
    const values = raw ? new Float32Array(raw.buffer) : Float32Array.from(t.floatData ?? []);
    return { dims, values, float: true };
  }
  if (type === T.INT64) {
    const values = raw ? Float32Array.from(new BigInt64Array(raw.buffer), Number) : Float32Array.from(t.int64Data ?? [], Number);
    return { dims, values, float: false };
  }
  throw bad(`tensor ${t.name} has element type ${type}; the grid trains float32 graphs (int64 only for shapes)`);
}

function attrsOf(node: Onnx.INodeProto): Record<string, Attr> {
  const out: Record<string, Attr> = {};
  const A = onnx.AttributeProto.AttributeType;
  for (const a of node.attribute ?? []) {
    if (a.type === A.INT) out[a.name as string] = Number(a.i);
    else if (a.type === A.FLOAT) out[a.name as string] = Number(a.f);
    else if (a.type === A.INTS) out[a.name as string] = (a.ints ?? []).map(Number);
    else if (a.type === A.STRING) out[a.name as string] = new TextDecoder().decode(a.s ?? new Uint8Array());
  }
  return out;
}

/**
 * An ONNX inference graph (a PyTorch or TensorFlow export) as an IR graph: initializers become trainable
 * parameters (fine-tuning starts from them), Constant nodes constants, the data input's first dimension the batch.
 * An op outside the IR's set is refused with UNSUPPORTED_OP naming it and its node.
 */
export function importOnnx(bytes: Uint8Array, named: { input?: string; output?: string } = {}): ImportedModel {
  let model: Onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw bad(`not an ONNX model: ${(e as Error).message}`);
  }
  const graph = model.graph;
  if (!graph) throw bad('the model has no graph');
  const g = new GraphBuilder();
  const opset = Number(model.opsetImport?.find((o) => !o.domain)?.version ?? 0);
  if (opset < 13) throw bad(`opset ${opset}: the grid reads opset 13 and later (export with opset_version=13 or more)`);
  const names = new Map<string, string>(); // ONNX value name -> IR value name
  const lists = new Map<string, number[]>(); // int64 constants: shapes and axes, folded into attributes
  const initialized = new Set((graph.initializer ?? []).map((t) => t.name as string));
  for (const t of graph.initializer ?? []) {
    const { dims, values, float } = tensorValues(t);
    if (float) names.set(t.name as string, g.param(t.name as string, dims, values));
    else lists.set(t.name as string, [...values]);
  }
  const inputs = (graph.input ?? []).filter((i) => !initialized.has(i.name as string));
  const data = named.input ? inputs.find((i) => i.name === named.input) : inputs[0];
  if (!data || (!named.input && inputs.length !== 1))
    throw bad(
      named.input ? `the model has no input ${named.input}` : `the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}): name one`,
    );
  const shape: Dim[] = (data.type?.tensorType?.shape?.dim ?? []).map((d, i) => (i === 0 ? 'batch' : Number(d.dimValue)));
  if (shape.slice(1).some((d) => !(Number(d) > 0))) throw bad(`input ${data.name} has shape [${shape}]: only its first dimension may vary`);
  names.set(data.name as string, g.input(data.name as string, shape));
  const value = (name: string) => {
    const v = names.get(name);
    if (v === undefined) throw bad(`value ${name} is used before it is computed`);
    return v;
  };
  for (const node of graph.node ?? []) {
    const op = node.opType as string;
    const outputs = (node.output ?? []) as string[];
    if (op === 'Constant') {
      const t = (node.attribute ?? []).find((a) => a.name === 'value')?.t;
      if (!t) throw bad(`Constant ${node.name} has no tensor value`);
      const { dims, values, float } = tensorValues(t);
      if (float) names.set(outputs[0], g.constant(values, dims));
      else lists.set(outputs[0], [...values]);
      continue;
    }
    const given = ((node.input ?? []) as string[]).filter((i) => i !== '');
    const attrs = attrsOf(node);
    const listAttrs = LIST_INPUTS[op] ?? [];
    listAttrs.forEach((attr, k) => {
      if (given[k + 1] === undefined) return;
      const list = lists.get(given[k + 1]);
      if (!list)
        throw new GridError('UNSUPPORTED_OP', `node ${node.name || outputs[0]}: ${op}'s ${attr} is computed at run time; only constant ${attr} are supported`);
      attrs[attr] = list;
    });
    if (listAttrs.length) given.length = 1;
    const inputs = given.map(value);
    try {
      const made = g.ops(op, inputs, attrs, outputs.length);
      outputs.forEach((o, i) => names.set(o, made[i]));
    } catch (e) {
      if (e instanceof GridError && e.code === 'UNSUPPORTED_OP') throw new GridError('UNSUPPORTED_OP', `node ${node.name || outputs[0]}: ${e.message}`);
      throw e;
    }
  }
  const out = named.output ?? (graph.output?.[0]?.name as string);
  return { builder: g, input: value(data.name as string), output: value(out) };
}
