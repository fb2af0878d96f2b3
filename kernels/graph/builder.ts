import { GridError } from '../../protocol/errors';
import type { Attrs, Dim, Graph, Shape } from './ir';
import type { Emitter } from './op';
import { opNamed } from './registry';

/**
 * Builds a graph op by op, inferring every value's shape as it goes (a wrong shape fails here, naming the node,
 * not when an engine runs it). Every helper returns the name of the value it made, so models read like the math.
 */
export class GraphBuilder implements Emitter {
  readonly graph: Graph = { inputs: [], params: [], constants: [], nodes: [], outputs: [], shapes: new Map() };
  private next = 0;

  input(name: string, shape: Shape, dropout?: number): string {
    this.define(name, shape);
    this.graph.inputs.push({ name, shape, ...(dropout !== undefined && { dropout }) });
    return name;
  }

  /** A parameter, trainable unless it is state (running statistics). */
  param(name: string, shape: number[], init: Float32Array, trainable = true): string {
    if (init.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`parameter ${name}: ${init.length} values for shape [${shape}]`);
    this.define(name, shape);
    this.graph.params.push({ name, shape, init, trainable });
    return name;
  }

  constant(value: number | Float32Array, shape: number[] = []): string {
    const name = this.fresh('const');
    const data = typeof value === 'number' ? Float32Array.of(value) : value;
    this.define(name, shape);
    this.graph.constants.push({ name, shape, data });
    return name;
  }

  op(name: string, inputs: string[], attrs: Attrs = {}): string {
    return this.ops(name, inputs, attrs, 1)[0];
  }

  /** A node with `count` outputs. */
  ops(name: string, inputs: string[], attrs: Attrs = {}, count = 1): string[] {
    const def = opNamed(name);
    const shapes = def.shape(
      inputs.map((i) => this.shapeOf(i)),
      attrs,
    );
    if (shapes.length < count) throw new GridError('UNSUPPORTED_OP', `${name} with ${count} outputs (the grid computes its first ${shapes.length})`);
    const outputs = shapes.slice(0, count).map((s) => this.define(this.fresh(name), s));
    this.graph.nodes.push({ op: name, inputs, outputs, attrs });
    return outputs;
  }

  /** `value` under a name of our choosing (a graph's contract: `loss`, `logits`, `grad.w0`). */
  alias(value: string, name: string): string {
    this.define(name, this.shapeOf(value));
    this.graph.nodes.push({ op: 'Identity', inputs: [value], outputs: [name], attrs: {} });
    return name;
  }

  output(name: string) {
    this.shapeOf(name);
    this.graph.outputs.push(name);
  }

  shapeOf(name: string): Shape {
    const s = this.graph.shapes.get(name);
    if (!s) throw new Error(`no value ${name} in the graph`);
    return s;
  }

  /** Reshape to `target`, where a symbol stands for the input's dimension of that symbol (ONNX's 0) and -1 is inferred. */
  reshape(x: string, target: Dim[]): string {
    const from = this.shapeOf(x);
    return this.op('Reshape', [x], { shape: target.map((d, i) => (typeof d === 'string' ? (from[i] === d ? 0 : -1) : d)) });
  }

  private define(name: string, shape: Shape): string {
    if (this.graph.shapes.has(name)) throw new GridError('BAD_MODEL', `value ${name} is defined twice`);
    this.graph.shapes.set(name, shape);
    return name;
  }

  private fresh(prefix: string) {
    return `${prefix}_${this.next++}`;
  }
}
