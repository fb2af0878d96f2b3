import type { OnnxAttr } from '../onnx/graph';
import type { Attrs, GraphNode, HostTensor, Shape } from './ir';

/** Where backward rules write their nodes (the graph builder). */
export interface Emitter {
  /** One node of a registered op; returns its (first) output's name. */
  op(name: string, inputs: string[], attrs?: Attrs): string;
  /** One node of an op with `count` outputs; returns their names. */
  ops(name: string, inputs: string[], attrs: Attrs, count: number): string[];
  /** A float constant: a scalar, or a tensor of `shape`. */
  constant(value: number | Float32Array, shape?: number[]): string;
  shapeOf(name: string): Shape;
}

/** What a backward rule is handed: the builder to emit its nodes with, the node, and the gradients of its outputs. */
export interface GradContext {
  g: Emitter;
  node: GraphNode;
  /** dLoss/d(output i), or undefined when output i does not reach the loss. */
  dOutputs: (string | undefined)[];
}

/** How an op is written to ONNX: usually one node of the same name; an op may emit a few standard nodes instead. */
export interface OnnxWriter {
  node(op: string, inputs: string[], attrs?: Record<string, OnnxAttr>, outputs?: string[]): string;
  /** An int64 constant (axes, shapes). */
  ints(values: number[]): string;
  /** A 1-D float constant. */
  floats(values: number[]): string;
  /** The value's shape as the graph knows it (symbols where the batch goes). */
  shapeOf(name: string): Shape;
}

/**
 * How our WGSL kernels run an op (kernels/graph/gpu-run.ts), as one of a few generic programs: an elementwise
 * expression of `x`, or of `a` and `b` broadcast together (attributes substituted into it); a reduction over the
 * op's `axes`; the same values under another shape; an axis permutation; softmax or its log along the last axis;
 * a matrix product (Gemm's transposes, scale and bias too); or a host-computed constant.
 */
export type GpuForm =
  | { kind: 'unary'; wgsl: (attrs: Attrs) => string; fns?: string }
  | { kind: 'binary'; wgsl: string; fns?: string }
  | { kind: 'reduce'; op: 'sum' | 'mean' | 'max' }
  | { kind: 'alias' }
  | { kind: 'transpose' }
  | { kind: 'softmax'; log: boolean }
  | { kind: 'matmul' }
  | { kind: 'gemm' }
  | { kind: 'host' }
  | { kind: 'where' }
  | { kind: 'conv'; part: 'forward' | 'gradInput' | 'gradWeight' }
  | { kind: 'pool'; mode: 'max' | 'avg' | 'maxGrad' | 'avgGrad' }
  | { kind: 'gather' }
  | { kind: 'gatherGrad' }
  /** Scaled dot-product attention in one kernel per pass, flash-attention style (kernels/graph/gpu-attention.ts). */
  | { kind: 'attention'; part: 'forward' | 'backward' }
  /** Boxes copied between inputs and outputs (Slice, Concat, Split and their gradients), outputs zeroed first if asked. */
  | { kind: 'copies'; plan: (inputs: number[][], attrs: Attrs) => CopyPlan }
  /** Written with other ops, as a backward rule is (LayerNormalization, GlobalAveragePool). */
  | { kind: 'compose'; build: (g: Emitter, node: GraphNode) => string[] };

export interface CopyPlan {
  zero?: boolean;
  copies: { from: number; to: number; box: number[]; src: number[]; dst: number[] }[];
}

/**
 * One op, in one file: its shape rule, its CPU forward (the reference every engine is checked against), its backward
 * rule as IR nodes (so every engine that runs the forward ops runs the backward too), and how ONNX writes it.
 */
export interface OpDef {
  /** The ONNX op type it reads and writes (helper ops of backward rules have names of our own). */
  name: string;
  shape(inputs: Shape[], attrs: Attrs): Shape[];
  cpu(inputs: HostTensor[], attrs: Attrs): HostTensor[];
  /** Gradients of the inputs (undefined: none, or not differentiable, like a comparison or a shape). */
  backward?(c: GradContext): (string | undefined)[];
  /** Default: one ONNX node with this op's name, inputs, outputs and attributes. */
  onnx?(w: OnnxWriter, node: GraphNode): void;
  /** How our WGSL kernels run it; an op without one keeps its graphs on onnxruntime and the CPU reference. */
  gpu?: GpuForm;
}
