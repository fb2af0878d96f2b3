import { GridError } from '../../../protocol/errors';
import type { Attrs, Dim } from '../ir';

/** A 2-D convolution's or pooling's geometry from its attributes: kernel, strides, pads (top, left, bottom, right), dilations. */
export interface Geometry {
  k: [number, number];
  s: [number, number];
  p: [number, number, number, number];
  d: [number, number];
}

const pair = (v: unknown, fallback: [number, number]): [number, number] => (Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : fallback);

export function geometry(attrs: Attrs, kernel: [number, number]): Geometry {
  if (attrs.auto_pad !== undefined && attrs.auto_pad !== 'NOTSET')
    throw new GridError('UNSUPPORTED_OP', `auto_pad ${attrs.auto_pad}: export with explicit pads`);
  const pads = Array.isArray(attrs.pads) && attrs.pads.length === 4 ? (attrs.pads as number[]) : [0, 0, 0, 0];
  return { k: pair(attrs.kernel_shape, kernel), s: pair(attrs.strides, [1, 1]), p: [pads[0], pads[1], pads[2], pads[3]], d: pair(attrs.dilations, [1, 1]) };
}

/** Output size along one axis. */
export const outSize = (n: number, g: Geometry, axis: 0 | 1) => Math.floor((n + g.p[axis] + g.p[axis + 2] - g.d[axis] * (g.k[axis] - 1) - 1) / g.s[axis]) + 1;

/** [N, C, H, W] checked as a 2-D image batch. */
export function image(shape: readonly Dim[], what: string): [Dim, number, number, number] {
  if (shape.length !== 4 || shape.slice(1).some((d) => typeof d !== 'number'))
    throw new GridError('UNSUPPORTED_OP', `${what} of [${shape}]: only 2-D images [N, C, H, W] are supported`);
  return shape as [Dim, number, number, number];
}

/** The attributes ONNX needs spelled out (some providers cannot infer them). */
export const onnxGeometry = (g: Geometry) => ({ kernel_shape: g.k, strides: g.s, pads: g.p, dilations: g.d });
