import type { onnx as Onnx } from 'onnx-proto';
import { GridError } from '../../protocol/errors';
import { onnx } from '../onnx/graph';
import { GraphBuilder } from './builder';
import { constantValues, FOLDERS, type Folded, reshapeTarget, shapeValue } from './fold-shapes';
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
  Expand: ['shape'],
  Split: ['split'],
};

/** Inputs after the first that an inference graph's op never needs (Dropout's ratio and training mode). */
const UNREAD_INPUTS = new Set(['Dropout']);

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
  const folded = new Map<string, Folded>(); // int64 constants and shape arithmetic, folded into attributes
  const initialized = new Set((graph.initializer ?? []).map((t) => t.name as string));
  for (const t of graph.initializer ?? []) {
    const { dims, values, float } = tensorValues(t);
    if (float) names.set(t.name as string, g.param(t.name as string, dims, values));
    else folded.set(t.name as string, { shape: dims, values: [...values] });
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
    if (v !== undefined) return v;
    const f = folded.get(name);
    if (!f) throw bad(`value ${name} is used before it is computed`);
    // Shape arithmetic that reaches the data's ops (a dimension in a formula) becomes a float constant.
    const made = g.constant(Float32Array.from(constantValues(f, name)), f.shape);
    names.set(name, made);
    return made;
  };
  importNodes(graph.node ?? [], { g, names, folded, value });
  const out = named.output ?? (graph.output?.[0]?.name as string);
  // Initializers no node reads (a Dropout's ratio, a folded branch's weights) are not parameters to train.
  const read = new Set(g.graph.nodes.flatMap((n) => n.inputs));
  const unread = g.graph.params.filter((p) => !read.has(p.name));
  for (const p of unread) g.graph.params.splice(g.graph.params.indexOf(p), 1);
  return { builder: g, input: value(data.name as string), output: value(out) };
}

interface Scope {
  g: GraphBuilder;
  names: Map<string, string>;
  folded: Map<string, Folded>;
  value: (name: string) => string;
}

/** Read nodes into the builder: shape arithmetic folded, a constant If replaced by its branch, every other op built. */
function importNodes(nodes: Onnx.INodeProto[], s: Scope) {
  const { g, names, folded, value } = s;
  for (const node of nodes) {
    const op = node.opType as string;
    const outputs = (node.output ?? []) as string[];
    const where = `node ${node.name || outputs[0]}`;
    const given = ((node.input ?? []) as string[]).filter((i) => i !== '');
    const attrs = attrsOf(node);
    if (op === 'Constant') {
      const t = (node.attribute ?? []).find((a) => a.name === 'value')?.t;
      if (!t) throw bad(`Constant ${node.name} has no tensor value`);
      const { dims, values, float } = tensorValues(t);
      if (float) names.set(outputs[0], g.constant(values, dims));
      else folded.set(outputs[0], { shape: dims, values: [...values] });
      continue;
    }
    if (op === 'Shape') {
      folded.set(outputs[0], shapeValue(g.shapeOf(value(given[0])), attrs));
      continue;
    }
    const fold = FOLDERS[op];
    if (fold && given.every((i) => folded.has(i))) {
      folded.set(
        outputs[0],
        withRefusalAt(where, () =>
          fold(
            given.map((i) => folded.get(i) as Folded),
            attrs,
          ),
        ),
      );
      continue;
    }
    if (op === 'If') {
      importNodes(constantBranch(node, folded, where), s);
      continue;
    }
    const listAttrs = LIST_INPUTS[op] ?? [];
    listAttrs.forEach((attr, k) => {
      if (given[k + 1] === undefined) return;
      const list = folded.get(given[k + 1]);
      if (!list) throw new GridError('UNSUPPORTED_OP', `${where}: ${op}'s ${attr} is computed at run time; only constant ${attr} are supported`);
      attrs[attr] =
        op === 'Reshape' ? reshapeTarget(list.values, g.shapeOf(value(given[0]))) : withRefusalAt(where, () => constantValues(list, `${op}'s ${attr}`));
    });
    if (listAttrs.length || UNREAD_INPUTS.has(op)) given.length = 1;
    if (op === 'Split' && attrs.split === undefined) attrs.num_outputs ??= outputs.length; // before opset 18: equal parts
    const made = withRefusalAt(where, () => g.ops(op, given.map(value), attrs, outputs.length));
    outputs.forEach((o, i) => names.set(o, made[i]));
  }
}

/** An If whose condition is known when the model is read: the nodes of the branch it takes, their outputs renamed to the If's. */
function constantBranch(node: Onnx.INodeProto, folded: Map<string, Folded>, where: string): Onnx.INodeProto[] {
  const cond = folded.get((node.input ?? [])[0] as string);
  if (!cond) throw new GridError('UNSUPPORTED_OP', `${where}: an If on a value computed from the data (only If on a constant condition is folded)`);
  const taken = withRefusalAt(where, () => constantValues(cond, 'If'))[0] ? 'then_branch' : 'else_branch';
  const branch = node.attribute?.find((a) => a.name === taken)?.g;
  if (!branch) throw bad(`${where}: If has no ${taken}`);
  const renames = (branch.output ?? []).map((o, i) => ({ opType: 'Identity', input: [o.name as string], output: [(node.output ?? [])[i] as string] }));
  return [...(branch.node ?? []), ...renames];
}

/** Run `f`; an UNSUPPORTED_OP it throws names the node. */
function withRefusalAt<T>(where: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof GridError && e.code === 'UNSUPPORTED_OP' && !e.message.startsWith('node '))
      throw new GridError('UNSUPPORTED_OP', `${where}: ${e.message}`);
    throw e;
  }
}
