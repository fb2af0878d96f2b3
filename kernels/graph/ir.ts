/** A dimension: a size, or a symbol (the batch, `N`) bound when the graph runs. */
export type Dim = number | string;
export type Shape = readonly Dim[];
export type Attr = number | number[] | string;
export type Attrs = Readonly<Record<string, Attr>>;

/** One op applied to named values; `outputs` are the names it defines. */
export interface GraphNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs: Attrs;
}

/** A trainable tensor (or, with `trainable: false`, state such as running statistics), with its starting values. */
export interface Param {
  name: string;
  shape: readonly number[];
  init: Float32Array;
  trainable: boolean;
}

/** A constant baked into the graph (scalars of formulas, reshape targets are attributes instead). */
export interface Constant {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

/**
 * A model as data: typed values with static shapes (batch symbolic), named parameters and constants, and the nodes
 * that compute `outputs` from `inputs`, in an order where every value is defined before it is used.
 */
export interface Graph {
  /** `dropout`: an input its engine fills with a dropout mask of that rate (dropout-masks.ts), not from the batch. */
  inputs: { name: string; shape: Shape; dropout?: number }[];
  params: Param[];
  constants: Constant[];
  nodes: GraphNode[];
  outputs: string[];
  /** Every value's shape, by name. */
  shapes: Map<string, Shape>;
}

/** A concrete tensor: what the CPU reference computes on. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}
