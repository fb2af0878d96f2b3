import type { onnx as Onnx } from 'onnx-proto';
import onnxProto from 'onnx-proto';

// onnx-proto is CommonJS: Node's ESM loader gives it only as a default export.
export const onnx = (onnxProto as unknown as { onnx: typeof Onnx }).onnx;

/** Opset of every graph we write: ReduceSum takes its axes as an input (13+), LayerNorm-era ops are not needed. */
export const OPSET = 17;

/** An attribute value; a number is an INT when it is whole, so a FLOAT attribute that may be whole (Gemm's beta) is written `{ float }`. */
export type OnnxAttr = number | number[] | string | { float: number };

/**
 * A small builder over onnx-proto's ModelProto: named values, nodes in order, inputs with symbolic batch dimensions,
 * float initializers. Every helper returns the name of the value it produced, so graphs read like the math.
 */
export class GraphBuilder {
  private readonly nodes: Onnx.INodeProto[] = [];
  private readonly inputs: Onnx.IValueInfoProto[] = [];
  private readonly outputs: Onnx.IValueInfoProto[] = [];
  private readonly initializers: Onnx.ITensorProto[] = [];
  private next = 0;

  /** A graph input; a string dimension is symbolic (the batch). */
  input(name: string, dims: (number | string)[], type: 'float' | 'int64' = 'float'): string {
    this.inputs.push(valueInfo(name, dims, type));
    return name;
  }

  output(value: string, name: string, dims: (number | string)[]): string {
    const out = value === name ? name : this.op('Identity', [value], {}, name);
    this.outputs.push(valueInfo(out, dims, 'float'));
    return out;
  }

  /** A float tensor stored in the model (trained weights, constants). */
  weight(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice(),
    });
    return name;
  }

  scalar(value: number): string {
    return this.weight(this.fresh('c'), [], Float32Array.of(value));
  }

  /** An int64 constant: a 1-D list, or a scalar when given a number. */
  ints(values: number[] | number): string {
    const name = this.fresh('i');
    const list = typeof values === 'number' ? [values] : values;
    const bytes = new Uint8Array(new BigInt64Array(list.map(BigInt)).buffer);
    this.initializers.push({ name, dims: typeof values === 'number' ? [] : [list.length], dataType: onnx.TensorProto.DataType.INT64, rawData: bytes });
    return name;
  }

  /** A node; `output` names its output, or its outputs when it has several (Split). Returns the first. */
  op(type: string, inputs: string[], attrs: Record<string, OnnxAttr> = {}, output: string | string[] = this.fresh(type)): string {
    const outputs = typeof output === 'string' ? [output] : output;
    this.nodes.push({
      opType: type,
      input: inputs,
      output: outputs,
      name: `${type}_${this.nodes.length}`,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs[0];
  }

  /** The serialized ModelProto. */
  build(name: string, metadata: Record<string, string> = {}): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'webgpu-grid',
      graph: { name, node: this.nodes, input: this.inputs, output: this.outputs, initializer: this.initializers },
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /** Drop the nodes no output depends on: onnxruntime runs a node nobody reads (a log-sum-exp kept for our kernels). */
  dropUnread() {
    const wanted = new Set(this.outputs.map((o) => o.name as string));
    const kept = this.nodes.toReversed().filter((n) => {
      if (!n.output?.some((o) => wanted.has(o))) return false;
      for (const i of reads(n)) wanted.add(i);
      return true;
    });
    this.nodes.splice(0, this.nodes.length, ...kept.reverse());
  }

  private fresh(prefix: string) {
    return `${prefix}_${this.next++}`;
  }
}

/** The names a node reads: its inputs, and those its subgraphs (an If's branches) read from the scope around them. */
function reads(n: Onnx.INodeProto): string[] {
  const graphs = (n.attribute ?? []).flatMap((a) => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]);
  return [...(n.input ?? []), ...graphs.flatMap((g) => (g.node ?? []).flatMap(reads))];
}

function valueInfo(name: string, dims: (number | string)[], type: 'float' | 'int64'): Onnx.IValueInfoProto {
  const elemType = type === 'float' ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64;
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } } };
}

function attribute(name: string, v: OnnxAttr): Onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'object' && !Array.isArray(v)) return { name, type: T.FLOAT, f: v.float };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
}
