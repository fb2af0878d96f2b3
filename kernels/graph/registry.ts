import { GridError } from '../../protocol/errors';
import type { OpDef } from './op';
import { Add } from './ops/add';
import { ArgMax } from './ops/arg-max';
import { AveragePool, AveragePoolGrad } from './ops/average-pool';
import { BatchNormalization } from './ops/batch-normalization';
import { ExpandAs, SizeOf, SumAs } from './ops/broadcasting';
import { Cast } from './ops/cast';
import { Equal, Greater, GreaterOrEqual } from './ops/comparisons';
import { Concat } from './ops/concat';
import { Conv, ConvGradInput, ConvGradWeight } from './ops/conv';
import { Div } from './ops/div';
import { Dropout } from './ops/dropout';
import { Erf } from './ops/erf';
import { Exp } from './ops/exp';
import { Expand } from './ops/expand';
import { Flatten } from './ops/flatten';
import { FusedAttention, FusedAttentionGrad } from './ops/fused-attention';
import { Gather, GatherGrad } from './ops/gather';
import { Gelu } from './ops/gelu';
import { Gemm } from './ops/gemm';
import { Identity } from './ops/identity';
import { LayerNormalization } from './ops/layer-normalization';
import { LeakyRelu } from './ops/leaky-relu';
import { Log } from './ops/log';
import { MatMul } from './ops/matmul';
import { Max } from './ops/max';
import { Mul } from './ops/mul';
import { Neg } from './ops/neg';
import { GlobalAveragePool, MaxPool, MaxPoolGrad } from './ops/pool';
import { Pow } from './ops/pow';
import { Prefix } from './ops/prefix';
import { ReduceMax } from './ops/reduce-max';
import { ReduceMean } from './ops/reduce-mean';
import { ReduceSum } from './ops/reduce-sum';
import { Relu } from './ops/relu';
import { Reshape, ReshapeAs } from './ops/reshape';
import { Sigmoid } from './ops/sigmoid';
import { Slice, SliceGrad } from './ops/slice';
import { LogSoftmax, Softmax } from './ops/softmax';
import { Split } from './ops/split';
import { Sqrt } from './ops/sqrt';
import { Squeeze, Unsqueeze } from './ops/squeeze';
import { Sub } from './ops/sub';
import { Tanh } from './ops/tanh';
import { Transpose } from './ops/transpose';
import { Where } from './ops/where';

/** Every op the grid can run and differentiate, by name: one line adds one (onnxruntime-web's resolve table is the model). */
export const OPS: ReadonlyMap<string, OpDef> = new Map(
  [
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Max,
    Neg,
    Exp,
    Log,
    Sqrt,
    Erf,
    Gelu,
    Identity,
    Dropout,
    Cast,
    Relu,
    LeakyRelu,
    Sigmoid,
    Tanh,
    Softmax,
    LogSoftmax,
    Greater,
    GreaterOrEqual,
    Equal,
    ArgMax,
    Where,
    MatMul,
    Gemm,
    Transpose,
    Reshape,
    Flatten,
    Squeeze,
    Unsqueeze,
    ReduceSum,
    ReduceMean,
    ReduceMax,
    Conv,
    MaxPool,
    AveragePool,
    GlobalAveragePool,
    LayerNormalization,
    BatchNormalization,
    Concat,
    Split,
    Expand,
    Slice,
    Gather,
    Prefix,
    FusedAttention,
    // Helpers the backward rules write: a broadcast and its sum, a reshape to another value's shape, a runtime count.
    ExpandAs,
    SumAs,
    ReshapeAs,
    SizeOf,
    ConvGradInput,
    ConvGradWeight,
    MaxPoolGrad,
    AveragePoolGrad,
    SliceGrad,
    GatherGrad,
    FusedAttentionGrad,
  ].map((op) => [op.name, op]),
);

/** The op of that name, or UNSUPPORTED_OP naming it. */
export function opNamed(name: string): OpDef {
  const op = OPS.get(name);
  if (!op) throw new GridError('UNSUPPORTED_OP', `op ${name} is not one the grid can train (it has ${[...OPS.keys()].join(', ')})`);
  return op;
}
