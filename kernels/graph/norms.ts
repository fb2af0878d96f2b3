import type { GraphBuilder } from './builder';
import { broadcastPerChannel } from './ops/batch-normalization';

/** Layer normalization over the last axis, decomposed (the form exporters write before opset 17). */
export function layerNorm(g: GraphBuilder, x: string, scale: string, bias: string, eps: number): string {
  const mean = g.op('ReduceMean', [x], { axes: [-1], keepdims: 1 });
  const d = g.op('Sub', [x, mean]);
  const variance = g.op('ReduceMean', [g.op('Mul', [d, d])], { axes: [-1], keepdims: 1 });
  const normed = g.op('Div', [d, g.op('Sqrt', [g.op('Add', [variance, g.constant(eps)])])]);
  return g.op('Add', [g.op('Mul', [normed, scale]), bias]);
}

/** A batch norm's tensors: learned scale and bias, running mean and variance (state). */
export interface BatchNormParams {
  scale: string;
  bias: string;
  mean: string;
  variance: string;
}

/**
 * Batch normalization as it trains: each channel normalized by the batch's own mean and (biased) variance, over
 * every axis but the channel's. Returns the output and each running statistic's step, batch minus running (the
 * variance unbiased, as PyTorch keeps it), which the training step reports in the statistics' gradient slots.
 */
export function batchNormTraining(g: GraphBuilder, x: string, p: BatchNormParams, eps: number) {
  const axes = g
    .shapeOf(x)
    .map((_, i) => i)
    .filter((i) => i !== 1);
  const mean = g.op('ReduceMean', [x], { axes, keepdims: 1 });
  const d = g.op('Sub', [x, mean]);
  const variance = g.op('ReduceMean', [g.op('Mul', [d, d])], { axes, keepdims: 1 });
  const normed = g.op('Div', [d, g.op('Sqrt', [g.op('Add', [variance, g.constant(eps)])])]);
  const y = g.op('Add', [g.op('Mul', [normed, broadcastPerChannel(g, p.scale, x)]), broadcastPerChannel(g, p.bias, x)]);
  const count = g.op('SizeOf', [x], { axes });
  const unbiased = g.op('Div', [count, g.op('Max', [g.op('Sub', [count, g.constant(1)]), g.constant(1)])]);
  const step = (batch: string, running: string) => g.op('Sub', [g.op('ReshapeAs', [batch, running]), running]);
  return {
    y,
    steps: new Map([
      [p.mean, step(mean, p.mean)],
      [p.variance, step(g.op('Mul', [variance, unbiased]), p.variance)],
    ]),
  };
}

/** Batch normalization as it infers: by the running statistics, one standard ONNX node. */
export const batchNormInference = (g: GraphBuilder, x: string, p: BatchNormParams, eps: number) =>
  g.op('BatchNormalization', [x, p.scale, p.bias, p.mean, p.variance], { epsilon: eps });
