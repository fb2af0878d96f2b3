import { axisOf, sumTo } from '../broadcast';
import type { Attrs, Dim, HostTensor, Shape } from '../ir';
import type { Emitter } from '../op';

/** The axes a reduction names (all of them when none), as positive numbers. */
export const reducedAxesOf = (attrs: Attrs, rank: number) => {
  const axes = Array.isArray(attrs.axes) ? (attrs.axes as number[]) : [];
  return axes.length ? axes.map((a) => axisOf(a, rank)) : Array.from({ length: rank }, (_, i) => i);
};
export const keepsDims = (attrs: Attrs) => attrs.keepdims !== 0;

export function reducedShape(x: Shape, attrs: Attrs): Dim[] {
  const axes = reducedAxesOf(attrs, x.length);
  return x.flatMap((d, i) => (axes.includes(i) ? (keepsDims(attrs) ? [1] : []) : [d]));
}

/** The sum over the reduction's axes, on concrete tensors. */
export function reduceSum(x: HostTensor, attrs: Attrs): HostTensor {
  const axes = reducedAxesOf(attrs, x.shape.length);
  const kept = sumTo(
    x,
    x.shape.map((d, i) => (axes.includes(i) ? 1 : d)),
  );
  return { shape: reducedShape(x.shape, attrs) as number[], data: kept.data };
}

/** dy of a reduction spread back over the axes it reduced (before any scaling a mean needs). */
export function spreadBack(g: Emitter, dy: string, x: string, attrs: Attrs): string {
  const axes = reducedAxesOf(attrs, g.shapeOf(x).length);
  const kept = keepsDims(attrs) ? dy : g.op('Unsqueeze', [dy], { axes });
  return g.op('ExpandAs', [kept, x]);
}
