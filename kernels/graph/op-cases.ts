import type { Attrs } from './ir';

/** One gradient-check case: an op on inputs of these shapes; `values` keeps an input's values where the op is defined and smooth. */
export interface OpCase {
  op: string;
  inputs: number[][];
  attrs?: Attrs;
  /** Per input: 'any' (default), 'positive' (log, sqrt, a divisor), 'away' (|x| > 0.1: kinks at 0), 'mask' (0/1), 'index' (0..4, a row). */
  values?: ('any' | 'positive' | 'away' | 'mask' | 'index')[];
  /** Inputs taken as given (a shape source, a mask): no gradient is checked for them. */
  fixed?: number[];
  label?: string;
}

/** Odd shapes, broadcasting on either side, strides through transposes: the table every engine's gradients are checked on. */
export const OP_CASES: OpCase[] = [
  {
    op: 'Add',
    inputs: [
      [3, 1, 5],
      [4, 5],
    ],
  },
  { op: 'Sub', inputs: [[2, 3], [3]] },
  {
    op: 'Mul',
    inputs: [
      [2, 3, 4],
      [1, 3, 1],
    ],
  },
  { op: 'Div', inputs: [[3, 4], [4]], values: ['any', 'positive'] },
  { op: 'Pow', inputs: [[3, 4], [4]], values: ['positive', 'positive'] },
  { op: 'Max', inputs: [[3, 4], [4]] },
  { op: 'Neg', inputs: [[2, 3, 5]] },
  { op: 'Exp', inputs: [[2, 3, 5]] },
  { op: 'Log', inputs: [[2, 3, 5]], values: ['positive'] },
  { op: 'Sqrt', inputs: [[2, 3, 5]], values: ['positive'] },
  { op: 'Erf', inputs: [[2, 3, 5]] },
  { op: 'Identity', inputs: [[7]] },
  { op: 'Gelu', inputs: [[3, 5]] },
  { op: 'Gelu', inputs: [[3, 5]], attrs: { approximate: 'tanh' }, label: 'tanh form' },
  { op: 'Dropout', inputs: [[2, 6]], attrs: { ratio: 0.3 } },
  { op: 'Cast', inputs: [[3, 4]], attrs: { to: 1 }, label: 'to float' },
  { op: 'Expand', inputs: [[3, 1]], attrs: { shape: [2, 3, 4] } },
  { op: 'Split', inputs: [[2, 7, 3]], attrs: { axis: 1, split: [2, 5] } },
  { op: 'Split', inputs: [[4, 7]], attrs: { axis: -1, num_outputs: 3 }, label: 'equal parts, the last smaller' },
  { op: 'AveragePool', inputs: [[2, 3, 5, 4]], attrs: { kernel_shape: [2, 2], strides: [2, 2] }, label: 'odd size' },
  { op: 'AveragePool', inputs: [[2, 2, 7, 6]], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 0] }, label: 'overlapping, pads excluded' },
  {
    op: 'AveragePool',
    inputs: [[1, 2, 6, 5]],
    attrs: { kernel_shape: [3, 2], strides: [1, 2], pads: [1, 0, 1, 1], count_include_pad: 1 },
    label: 'overlapping, pads counted',
  },
  { op: 'Relu', inputs: [[3, 5]], values: ['away'] },
  { op: 'LeakyRelu', inputs: [[3, 5]], attrs: { alpha: 0.2 }, values: ['away'] },
  { op: 'Sigmoid', inputs: [[3, 5]] },
  { op: 'Tanh', inputs: [[3, 5]] },
  { op: 'Softmax', inputs: [[3, 5, 2]], attrs: { axis: 1 } },
  { op: 'LogSoftmax', inputs: [[4, 7]], attrs: { axis: -1 } },
  { op: 'Where', inputs: [[3, 4], [3, 4], [4]], values: ['mask'], fixed: [0] },
  {
    op: 'MatMul',
    inputs: [
      [2, 3, 4],
      [4, 5],
    ],
  },
  {
    op: 'MatMul',
    inputs: [
      [2, 1, 3, 4],
      [3, 4, 5],
    ],
    label: 'batch broadcast',
  },
  { op: 'Gemm', inputs: [[3, 4], [5, 4], [5]], attrs: { transB: 1, alpha: 0.5, beta: 2 } },
  {
    op: 'Gemm',
    inputs: [
      [4, 3],
      [4, 5],
      [3, 5],
    ],
    attrs: { transA: 1 },
    label: 'transA',
  },
  { op: 'Transpose', inputs: [[2, 3, 4]], attrs: { perm: [2, 0, 1] } },
  { op: 'Reshape', inputs: [[2, 3, 4]], attrs: { shape: [6, -1] } },
  { op: 'Flatten', inputs: [[2, 3, 4]], attrs: { axis: 1 } },
  { op: 'Squeeze', inputs: [[3, 1, 4]], attrs: { axes: [1] } },
  { op: 'Unsqueeze', inputs: [[3, 4]], attrs: { axes: [0, 2] } },
  { op: 'ReduceSum', inputs: [[3, 4, 5]], attrs: { axes: [1], keepdims: 0 } },
  { op: 'ReduceSum', inputs: [[3, 4, 5]], attrs: { keepdims: 1 }, label: 'all axes' },
  { op: 'ReduceMean', inputs: [[3, 4, 5]], attrs: { axes: [0, 2], keepdims: 1 } },
  { op: 'ReduceMax', inputs: [[3, 4, 5]], attrs: { axes: [1], keepdims: 0 } },
  { op: 'Conv', inputs: [[2, 3, 7, 6], [4, 3, 3, 2], [4]], attrs: { pads: [1, 0, 1, 1] } },
  { op: 'Conv', inputs: [[2, 4, 6, 5], [6, 2, 3, 3], [6]], attrs: { group: 2, pads: [1, 1, 1, 1], strides: [2, 1] }, label: 'two groups' },
  {
    op: 'Conv',
    inputs: [
      [2, 3, 6, 6],
      [3, 1, 3, 3],
    ],
    attrs: { group: 3, pads: [1, 1, 1, 1], dilations: [2, 1] },
    label: 'depthwise',
  },
  {
    op: 'Conv',
    inputs: [
      [1, 2, 9, 8],
      [3, 2, 3, 3],
    ],
    attrs: { strides: [2, 2], dilations: [1, 2], pads: [1, 1, 0, 1] },
    label: 'stride 2, dilation, no bias',
  },
  { op: 'MaxPool', inputs: [[2, 3, 5, 4]], attrs: { kernel_shape: [2, 2], strides: [2, 2] }, label: 'odd size' },
  {
    op: 'MaxPool',
    inputs: [[2, 2, 7, 8]],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    label: 'a ResNet stem: 3x3, stride 2, pads 1',
  },
  { op: 'MaxPool', inputs: [[1, 3, 6, 5]], attrs: { kernel_shape: [2, 3], strides: [1, 1] }, label: 'overlapping, stride 1' },
  { op: 'GlobalAveragePool', inputs: [[2, 3, 4, 5]] },
  { op: 'LayerNormalization', inputs: [[3, 2, 7], [7], [7]], attrs: { epsilon: 1e-3 } },
  {
    op: 'FusedAttention',
    inputs: [
      [2, 3, 5, 4],
      [2, 3, 5, 4],
      [2, 3, 5, 4],
    ],
    attrs: { scale: 0.5, causal: 1 },
    label: 'causal',
  },
  {
    op: 'FusedAttention',
    inputs: [
      [1, 2, 3, 4],
      [1, 2, 6, 4],
      [1, 2, 6, 4],
    ],
    attrs: { scale: 0.7, causal: 0 },
    label: 'more keys than queries',
  },
  { op: 'BatchNormalization', inputs: [[2, 3, 4, 5], [3], [3], [3], [3]], values: ['any', 'any', 'any', 'any', 'positive'] },
  { op: 'BatchNormalization', inputs: [[5, 4], [4], [4], [4], [4]], values: ['any', 'any', 'any', 'any', 'positive'], label: 'on vectors' },
  {
    op: 'Concat',
    inputs: [
      [2, 3, 4],
      [2, 1, 4],
      [2, 2, 4],
    ],
    attrs: { axis: 1 },
  },
  { op: 'Slice', inputs: [[4, 6, 5]], attrs: { starts: [1, -4], ends: [3, 100], axes: [0, 1] } },
  {
    op: 'Gather',
    inputs: [
      [5, 3],
      [2, 4],
    ],
    values: ['any', 'index'],
    fixed: [1],
    label: 'embedding, rows read twice',
  },
  {
    op: 'ExpandAs',
    inputs: [
      [4, 1],
      [3, 4, 5],
    ],
    fixed: [1],
  },
  {
    op: 'SumAs',
    inputs: [
      [3, 4, 5],
      [4, 1],
    ],
    fixed: [1],
  },
  {
    op: 'ReshapeAs',
    inputs: [
      [2, 6],
      [3, 4],
    ],
    fixed: [1],
  },
];

/** Ops without a gradient, checked on their forward values only (every engine against the CPU reference). */
export const FORWARD_CASES: OpCase[] = [
  { op: 'Greater', inputs: [[3, 4], [4]] },
  { op: 'GreaterOrEqual', inputs: [[3, 4], [4]] },
  {
    op: 'Equal',
    inputs: [
      [3, 4],
      [3, 4],
    ],
    values: ['mask', 'mask'],
  },
  { op: 'ArgMax', inputs: [[3, 5, 2]], attrs: { axis: 1, keepdims: 0 } },
  { op: 'SizeOf', inputs: [[3, 4, 5]], attrs: { axes: [0, 2] } },
];
