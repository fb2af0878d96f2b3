import { convGeometry, type Layer, type LayersSpec, poolGeometry } from '../../protocol/layers';
import { selfAttention } from './attention';
import type { GraphBuilder } from './builder';
import { batchNormInference, batchNormTraining, layerNorm } from './norms';

/** How a layer list is being built: `training` (batch norms on batch statistics) and the parameter's values by name. */
interface Build {
  g: GraphBuilder;
  param: (name: string) => string;
  training: boolean;
  /** Each running statistic's step (batch minus running), filled in as batch norms are built in training. */
  runningSteps: Map<string, string>;
  /** The first embedding's token table [vocab, dim], which an unembed layer multiplies by (tied weights). */
  tokenTable?: string;
}

/**
 * The graph of one layer list on `x` [batch, width]; `param` names the value of each parameter tensor. In training,
 * returns with the logits each running statistic's step by parameter name.
 */
export function layersForward(g: GraphBuilder, spec: LayersSpec, x: string, param: (name: string) => string, training = false) {
  const b: Build = { g, param, training, runningSteps: new Map() };
  const image = spec.input.length === 3 ? g.reshape(x, ['batch', ...spec.input]) : x;
  return { logits: walk(b, spec.layers, image, 'l'), runningSteps: b.runningSteps };
}

function walk(b: Build, layers: readonly Layer[], h: string, prefix: string): string {
  layers.forEach((l, i) => {
    h = layer(b, l, h, `${prefix}${i}`);
  });
  return h;
}

function layer(b: Build, l: Layer, h: string, name: string): string {
  const { g, param } = b;
  switch (l.type) {
    case 'dense': {
      // An image is flattened first; a sequence [batch, positions, features] is projected at each position.
      const flat = g.shapeOf(h).length > 3 ? g.op('Flatten', [h], { axis: 1 }) : h;
      return g.op('Add', [g.op('MatMul', [flat, param(`${name}.w`)]), param(`${name}.b`)]);
    }
    case 'conv2d': {
      const [, , height, width] = g.shapeOf(h) as number[];
      const geo = convGeometry(l, height, width);
      const attrs = { kernel_shape: geo.kernel, strides: [geo.stride, geo.stride], pads: geo.pads, group: l.groups ?? 1 };
      return g.op('Conv', [h, param(`${name}.w`), param(`${name}.b`)], attrs);
    }
    case 'maxPool':
    case 'avgPool': {
      const [, , height, width] = g.shapeOf(h) as number[];
      const geo = poolGeometry(l, height, width);
      const attrs = { kernel_shape: geo.kernel, strides: [geo.stride, geo.stride], pads: geo.pads };
      return g.op(l.type === 'maxPool' ? 'MaxPool' : 'AveragePool', [h], attrs);
    }
    case 'globalAvgPool':
      return g.op('GlobalAveragePool', [h]);
    case 'flatten':
      return g.op('Flatten', [h], { axis: 1 });
    case 'relu':
      return g.op('Relu', [h]);
    case 'tanh':
      return g.op('Tanh', [h]);
    case 'sigmoid':
      return g.op('Sigmoid', [h]);
    case 'leakyRelu':
      return g.op('LeakyRelu', [h], { alpha: l.alpha ?? 0.01 });
    case 'silu':
      return g.op('Mul', [h, g.op('Sigmoid', [h])]);
    case 'gelu':
      return gelu(g, h);
    case 'layerNorm':
      return layerNorm(g, h, param(`${name}.scale`), param(`${name}.bias`), l.eps ?? 1e-5);
    case 'batchNorm': {
      const p = { scale: param(`${name}.scale`), bias: param(`${name}.bias`), mean: param(`${name}.mean`), variance: param(`${name}.var`) };
      if (!b.training) return batchNormInference(g, h, p, l.eps ?? 1e-5);
      const { y, steps } = batchNormTraining(g, h, p, l.eps ?? 1e-5);
      for (const [running, step] of steps) b.runningSteps.set(running, step);
      return y;
    }
    case 'embedding': {
      b.tokenTable ??= param(`${name}.tokens`);
      const tokens = g.op('Gather', [param(`${name}.tokens`), h]); // [batch, positions, dim]
      const table = param(`${name}.positions`);
      // A sequence whose length is a symbol (an export for any prompt up to the block) takes the table's first rows.
      const positions = typeof g.shapeOf(h)[1] === 'string' ? g.op('Prefix', [table, h], { axes: [0], dims: [1] }) : table;
      return g.op('Add', [tokens, positions]);
    }
    case 'attention': {
      const at = (k: string) => param(`${name}.${k}`);
      const p = { wq: at('wq'), bq: at('bq'), wk: at('wk'), bk: at('bk'), wv: at('wv'), bv: at('bv'), wo: at('wo'), bo: at('bo') };
      return selfAttention(g, h, p, l.heads, l.causal ?? false);
    }
    case 'meanPool':
      return g.op('ReduceMean', [h], { axes: [1], keepdims: 0 });
    case 'dropout': // a mask the engine draws from the batch's seed, so redundant copies of a shard agree
      return b.training && l.rate > 0 ? g.op('Mul', [h, g.input(`dropout.${name}`, g.shapeOf(h), l.rate)]) : h;
    case 'unembed': // checked when the spec was read: an embedding came first
      return g.op('MatMul', [h, g.op('Transpose', [b.tokenTable as string], { perm: [1, 0] })]);
    case 'residual':
      return g.op('Add', [l.shortcut ? walk(b, l.shortcut, h, `${name}.s`) : h, walk(b, l.layers, h, `${name}.`)]);
  }
}

/** GELU in its exact form, as PyTorch's default: x · ½ (1 + erf(x / √2)). */
export function gelu(g: GraphBuilder, x: string): string {
  const cdf = g.op('Mul', [g.constant(0.5), g.op('Add', [g.constant(1), g.op('Erf', [g.op('Mul', [x, g.constant(Math.SQRT1_2)])])])]);
  return g.op('Mul', [x, cdf]);
}
