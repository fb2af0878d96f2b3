import { GridError } from '../../../protocol/errors';
import type { Attrs, Dim, Shape } from '../ir';
import type { OnnxWriter, OpDef } from '../op';
import { type Geometry, geometry, image, onnxGeometry, outSize } from './conv-geometry';

/** Pooling windows that tile the image without overlap or padding: their backward needs no indices (WebGPU has none). */
export function tiling(attrs: Attrs): Geometry {
  const g = geometry(attrs, [1, 1]);
  if (g.s[0] !== g.k[0] || g.s[1] !== g.k[1] || g.p.some((p) => p !== 0) || g.d.some((d) => d !== 1) || attrs.ceil_mode === 1)
    throw new GridError(
      'UNSUPPORTED_OP',
      `pooling with kernel [${g.k}] strides [${g.s}] pads [${g.p}]: only windows that tile the image (stride = kernel, no pads) are supported`,
    );
  return g;
}

export const at4 = (s: readonly number[], a: number, b: number, c: number, d: number) => ((a * s[1] + b) * s[2] + c) * s[3] + d;

/** A tiling pool's output shape. */
export function poolShape(x: Shape, attrs: Attrs, op: string): Dim[] {
  const [n, c, h, w] = image(x, op);
  const g = tiling(attrs);
  return [n, c, outSize(h, g, 0), outSize(w, g, 1)];
}

/** ONNX: each pooled value repeated over its window (nearest-neighbour Resize). */
export const upsample = (w: OnnxWriter, t: string, g: Geometry) => w.node('Resize', [t, '', w.floats([1, 1, g.k[0], g.k[1]])], { mode: 'nearest' });

/** ONNX: `t` (the windows' extent) padded with zeros to the input's size, where the last row or column was dropped. */
export function padToInput(w: OnnxWriter, t: string, x: string, g: Geometry, outputs: string[]) {
  const [h, wd] = (w.shapeOf(x) as number[]).slice(2);
  const [eh, ew] = [outSize(h, g, 0) * g.k[0], outSize(wd, g, 1) * g.k[1]];
  if (eh === h && ew === wd) w.node('Identity', [t], {}, outputs);
  else w.node('Pad', [t, w.ints([0, 0, 0, 0, 0, 0, h - eh, wd - ew])], {}, outputs);
}

/** Max over each window; a last row or column the windows do not reach is dropped, as ONNX does. */
export const MaxPool: OpDef = {
  name: 'MaxPool',
  gpu: { kind: 'pool', mode: 'max' },
  shape: ([x], attrs) => [poolShape(x, attrs, 'MaxPool')],
  cpu: ([x], attrs) => {
    const g = tiling(attrs);
    const shape = [x.shape[0], x.shape[1], outSize(x.shape[2], g, 0), outSize(x.shape[3], g, 1)];
    const data = new Float32Array(shape.reduce((p, q) => p * q, 1)).fill(Number.NEGATIVE_INFINITY);
    for (let n = 0; n < shape[0]; n++)
      for (let c = 0; c < shape[1]; c++)
        for (let y = 0; y < shape[2] * g.k[0]; y++)
          for (let xx = 0; xx < shape[3] * g.k[1]; xx++) {
            const o = at4(shape, n, c, Math.floor(y / g.k[0]), Math.floor(xx / g.k[1]));
            data[o] = Math.max(data[o], x.data[at4(x.shape, n, c, y, xx)]);
          }
    return [{ shape, data }];
  },
  backward: ({ g, node, dOutputs: [dy] }) => [dy && g.op('MaxPoolGrad', [dy, node.inputs[0], node.outputs[0]], node.attrs)],
  onnx: (w, n) => void w.node('MaxPool', [...n.inputs], onnxGeometry(tiling(n.attrs)), [...n.outputs]),
};

/**
 * dX of a max-pool: each window's gradient goes to the inputs equal to its maximum (exact ties each get it, as the
 * ONNX form routes by equality; ties of real data are rare). Inputs no window reached get zero.
 */
export const MaxPoolGrad: OpDef = {
  name: 'MaxPoolGrad',
  gpu: { kind: 'pool', mode: 'maxGrad' },
  shape: ([, x]) => [x],
  cpu: ([dy, x, y], attrs) => {
    const g = tiling(attrs);
    const data = new Float32Array(x.data.length);
    for (let n = 0; n < y.shape[0]; n++)
      for (let c = 0; c < y.shape[1]; c++)
        for (let yy = 0; yy < y.shape[2] * g.k[0]; yy++)
          for (let xx = 0; xx < y.shape[3] * g.k[1]; xx++) {
            const o = at4(y.shape, n, c, Math.floor(yy / g.k[0]), Math.floor(xx / g.k[1]));
            const i = at4(x.shape, n, c, yy, xx);
            if (x.data[i] === y.data[o]) data[i] = dy.data[o];
          }
    return [{ shape: x.shape, data }];
  },
  backward: () => [undefined, undefined, undefined],
  onnx: (w, n) => {
    const [dy, x, y] = n.inputs;
    const g = tiling(n.attrs);
    const [h, wd] = (w.shapeOf(x) as number[]).slice(2);
    const [eh, ew] = [outSize(h, g, 0) * g.k[0], outSize(wd, g, 1) * g.k[1]];
    const covered = eh === h && ew === wd ? x : w.node('Slice', [x, w.ints([0, 0]), w.ints([eh, ew]), w.ints([2, 3])]);
    const routed = w.node('Mul', [w.node('Cast', [w.node('Equal', [covered, upsample(w, y, g)])], { to: 1 }), upsample(w, dy, g)]);
    padToInput(w, routed, x, g, [...n.outputs]);
  },
};

/** Mean over each channel's image: [N, C, H, W] to [N, C, 1, 1]; its backward spreads dY evenly. */
export const GlobalAveragePool: OpDef = {
  name: 'GlobalAveragePool',
  gpu: { kind: 'compose', build: (g, node) => [g.op('ReduceMean', [node.inputs[0]], { axes: [2, 3], keepdims: 1 })] },
  shape: ([x]) => {
    const [n, c] = image(x, 'GlobalAveragePool');
    return [[n, c, 1, 1]];
  },
  cpu: ([x]) => {
    const [n, c, h, w] = x.shape;
    const data = new Float32Array(n * c);
    for (let i = 0; i < n * c; i++) {
      let s = 0;
      for (let k = 0; k < h * w; k++) s += x.data[i * h * w + k];
      data[i] = s / (h * w);
    }
    return [{ shape: [n, c, 1, 1], data }];
  },
  backward: ({ g, node, dOutputs: [dy] }) => {
    if (!dy) return [undefined];
    const [h, w] = (g.shapeOf(node.inputs[0]) as number[]).slice(2);
    return [g.op('Div', [g.op('ExpandAs', [dy, node.inputs[0]]), g.constant(h * w)])];
  },
};
