import { convGeometry, type Layer, type LayersSpec } from '../../protocol/layers';
import type { GraphBuilder } from './builder';

/** The graph of one layer list on `x` [batch, width]; `param` names the value of each parameter tensor. */
export function layersForward(g: GraphBuilder, spec: LayersSpec, x: string, param: (name: string) => string): string {
  const walk = (layers: readonly Layer[], h: string, prefix: string): string => {
    layers.forEach((l, i) => {
      const name = `${prefix}${i}`;
      h = layer(g, l, h, name, param, walk);
    });
    return h;
  };
  const image = spec.input.length === 3 ? g.reshape(x, ['batch', ...spec.input]) : x;
  return walk(spec.layers, image, 'l');
}

function layer(
  g: GraphBuilder,
  l: Layer,
  h: string,
  name: string,
  param: (name: string) => string,
  walk: (layers: readonly Layer[], h: string, prefix: string) => string,
): string {
  switch (l.type) {
    case 'dense': {
      const flat = g.shapeOf(h).length > 2 ? g.op('Flatten', [h], { axis: 1 }) : h;
      return g.op('Add', [g.op('MatMul', [flat, param(`${name}.w`)]), param(`${name}.b`)]);
    }
    case 'conv2d': {
      const [, , height, width] = g.shapeOf(h) as number[];
      const geo = convGeometry(l, height, width);
      const attrs = { kernel_shape: geo.kernel, strides: [geo.stride, geo.stride], pads: geo.pads };
      return g.op('Conv', [h, param(`${name}.w`), param(`${name}.b`)], attrs);
    }
    case 'maxPool':
      return g.op('MaxPool', [h], { kernel_shape: [l.size, l.size], strides: [l.size, l.size] });
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
    case 'gelu':
      return gelu(g, h);
    case 'layerNorm':
      return layerNorm(g, h, param(`${name}.scale`), param(`${name}.bias`), l.eps ?? 1e-5);
    case 'residual':
      return g.op('Add', [h, walk(l.layers, h, `${name}.`)]);
  }
}

/** GELU in its exact form, as PyTorch's default: x · ½ (1 + erf(x / √2)). */
export function gelu(g: GraphBuilder, x: string): string {
  const cdf = g.op('Mul', [g.constant(0.5), g.op('Add', [g.constant(1), g.op('Erf', [g.op('Mul', [x, g.constant(Math.SQRT1_2)])])])]);
  return g.op('Mul', [x, cdf]);
}

/** Layer normalization over the last axis, decomposed (the form exporters write before opset 17). */
export function layerNorm(g: GraphBuilder, x: string, scale: string, bias: string, eps: number): string {
  const mean = g.op('ReduceMean', [x], { axes: [-1], keepdims: 1 });
  const d = g.op('Sub', [x, mean]);
  const variance = g.op('ReduceMean', [g.op('Mul', [d, d])], { axes: [-1], keepdims: 1 });
  const normed = g.op('Div', [d, g.op('Sqrt', [g.op('Add', [variance, g.constant(eps)])])]);
  return g.op('Add', [g.op('Mul', [normed, scale]), bias]);
}
