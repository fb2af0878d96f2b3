import { GridError } from '../../../protocol/errors';
import type { GraphNode } from '../ir';
import type { OnnxWriter, OpDef } from '../op';
import { type Geometry, geometry, image, onnxGeometry, outSize } from './conv-geometry';

/**
 * Checks `group` against the channels: C input and M output channels split into `group` groups, each output channel
 * seeing only its group's C/group inputs (weights [M, C/group, kh, kw]; group = C is a depthwise convolution).
 */
function groupOf(attrs: { group?: unknown }, c: number, w: readonly unknown[]): number {
  const group = attrs.group ?? 1;
  if (!Number.isInteger(group) || (group as number) < 1) throw new GridError('BAD_MODEL', `Conv group ${attrs.group} is not a positive integer`);
  const [m, perGroup] = w as number[];
  if (c % (group as number) !== 0 || m % (group as number) !== 0 || perGroup * (group as number) !== c)
    throw new GridError('BAD_MODEL', `Conv weights [${w}] in ${group} groups do not fit an input of ${c} channels`);
  return group as number;
}

/**
 * Visit every (output position, kernel tap) pair whose input position is inside the image, with the input channel
 * `ci` it reads and the weight's channel `cc` (they differ in grouped convolutions).
 */
function taps(
  [n, c, h, w]: number[],
  [m, cg, kh, kw]: number[],
  g: Geometry,
  visit: (nn: number, mm: number, ci: number, cc: number, oy: number, ox: number, iy: number, ix: number, ky: number, kx: number) => void,
) {
  const [oh, ow] = [outSize(h, g, 0), outSize(w, g, 1)];
  const perGroup = m / (c / cg); // output channels per group
  for (let nn = 0; nn < n; nn++)
    for (let mm = 0; mm < m; mm++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++)
          for (let cc = 0; cc < cg; cc++)
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * g.s[0] - g.p[0] + ky * g.d[0];
              if (iy < 0 || iy >= h) continue;
              const ci = Math.floor(mm / perGroup) * cg + cc;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * g.s[1] - g.p[1] + kx * g.d[1];
                if (ix >= 0 && ix < w) visit(nn, mm, ci, cc, oy, ox, iy, ix, ky, kx);
              }
            }
}

const at4 = (s: readonly number[], a: number, b: number, c: number, d: number) => ((a * s[1] + b) * s[2] + c) * s[3] + d;

/** The node's group count, from its input's channels (`image`, the forward's input) and its weights. */
const groupCount = (w: OnnxWriter, n: GraphNode, image = n.inputs[0]) => {
  const weights = n.op === 'ConvGradWeight' ? n.inputs[2] : n.inputs[1];
  return (w.shapeOf(image) as number[])[1] / (w.shapeOf(weights) as number[])[1];
};
const geometryOf = (w: readonly number[], attrs: Parameters<typeof geometry>[0]) => geometry(attrs, [w[2], w[3]]);

/** 2-D convolution, NCHW, weights [M, C/group, kh, kw], optional bias [M]; strides, pads, dilations and groups. */
export const Conv: OpDef = {
  name: 'Conv',
  gpu: { kind: 'conv', part: 'forward' },
  shape: ([x, w], attrs) => {
    const [n, c, h, wd] = image(x, 'Conv');
    if (w.length !== 4) throw new GridError('BAD_MODEL', `Conv weights [${w}] are not [M, C/group, kh, kw]`);
    groupOf(attrs, c, w);
    const g = geometryOf(w as number[], attrs);
    return [[n, w[0], outSize(h, g, 0), outSize(wd, g, 1)]];
  },
  cpu: ([x, w, b], attrs) => {
    const g = geometryOf(w.shape, attrs);
    const shape = [x.shape[0], w.shape[0], outSize(x.shape[2], g, 0), outSize(x.shape[3], g, 1)];
    const data = new Float32Array(shape.reduce((p, q) => p * q, 1));
    if (b) for (let i = 0; i < data.length; i++) data[i] = b.data[Math.floor(i / (shape[2] * shape[3])) % shape[1]];
    taps(x.shape, w.shape, g, (n, m, ci, cc, oy, ox, iy, ix, ky, kx) => {
      data[at4(shape, n, m, oy, ox)] += x.data[at4(x.shape, n, ci, iy, ix)] * w.data[at4(w.shape, m, cc, ky, kx)];
    });
    return [{ shape, data }];
  },
  backward: ({ g, node, dOutputs: [dy] }) => {
    if (!dy) return [undefined, undefined, undefined];
    const [x, w, b] = node.inputs;
    return [
      g.op('ConvGradInput', [dy, w, x], node.attrs),
      g.op('ConvGradWeight', [x, dy, w], node.attrs),
      b === undefined ? undefined : g.op('ReduceSum', [dy], { axes: [0, 2, 3], keepdims: 0 }),
    ];
  },
  onnx: (w, n) =>
    void w.node('Conv', [...n.inputs], { ...onnxGeometry(geometryOf(w.shapeOf(n.inputs[1]) as number[], n.attrs)), group: groupCount(w, n) }, [...n.outputs]),
};

/** dX of a convolution from dY and its weights (shaped like its input, the third operand): ONNX's ConvTranspose. */
export const ConvGradInput: OpDef = {
  name: 'ConvGradInput',
  gpu: { kind: 'conv', part: 'gradInput' },
  shape: ([, , like]) => [like],
  cpu: ([dy, w, like], attrs) => {
    const g = geometryOf(w.shape, attrs);
    const data = new Float32Array(like.data.length);
    taps(like.shape, w.shape, g, (n, m, ci, cc, oy, ox, iy, ix, ky, kx) => {
      data[at4(like.shape, n, ci, iy, ix)] += dy.data[at4(dy.shape, n, m, oy, ox)] * w.data[at4(w.shape, m, cc, ky, kx)];
    });
    return [{ shape: like.shape, data }];
  },
  backward: ({ g, node, dOutputs: [d] }) => [d && g.op('Conv', [d, node.inputs[1]], node.attrs), undefined, undefined],
  onnx: (w, n) => {
    const [dy, weights, like] = n.inputs;
    const geo = geometryOf(w.shapeOf(weights) as number[], n.attrs);
    const [h, wd] = (w.shapeOf(like) as number[]).slice(2);
    const [oh, ow] = (w.shapeOf(dy) as number[]).slice(2);
    // ConvTranspose gives (O-1)s + (k-1)d + 1 - pads; the rows a stride skipped at the end come back as output_padding.
    const full = (o: number, a: 0 | 1) => (o - 1) * geo.s[a] + (geo.k[a] - 1) * geo.d[a] + 1 - geo.p[a] - geo.p[a + 2];
    const extra = [h - full(oh, 0), wd - full(ow, 1)];
    // ConvTranspose's weights are [its input channels, its outputs per group, ...]: the forward weights as they are.
    w.node('ConvTranspose', [dy, weights], { ...onnxGeometry(geo), output_padding: extra, group: groupCount(w, n, like) }, [...n.outputs]);
  },
};

/**
 * dW of a convolution from its input and dY (shaped like its weights, the third operand). In ONNX: a convolution of
 * the input with dY over the batch (batch and channels swapped, stride and dilation swapped), cut to the kernel.
 */
export const ConvGradWeight: OpDef = {
  name: 'ConvGradWeight',
  gpu: { kind: 'conv', part: 'gradWeight' },
  shape: ([, , like]) => [like],
  cpu: ([x, dy, like], attrs) => {
    const g = geometryOf(like.shape, attrs);
    const data = new Float32Array(like.data.length);
    taps(x.shape, like.shape, g, (n, m, ci, cc, oy, ox, iy, ix, ky, kx) => {
      data[at4(like.shape, m, cc, ky, kx)] += dy.data[at4(dy.shape, n, m, oy, ox)] * x.data[at4(x.shape, n, ci, iy, ix)];
    });
    return [{ shape: like.shape, data }];
  },
  backward: () => [undefined, undefined, undefined],
  onnx: (w, n) => {
    const [x, dy, like] = n.inputs;
    const [kh, kw] = (w.shapeOf(like) as number[]).slice(2);
    const geo = geometryOf(w.shapeOf(like) as number[], n.attrs);
    const swap = (v: string) => w.node('Transpose', [v], { perm: [1, 0, 2, 3] });
    const [oh, ow] = (w.shapeOf(dy) as number[]).slice(2);
    const corr = w.node('Conv', [swap(x), swap(dy)], { kernel_shape: [oh, ow], strides: geo.d, dilations: geo.s, pads: geo.p });
    const cut = w.node('Slice', [corr, w.ints([0, 0]), w.ints([kh, kw]), w.ints([2, 3])]);
    const group = groupCount(w, n, x);
    if (group === 1) return void w.node('Transpose', [cut], { perm: [1, 0, 2, 3] }, [...n.outputs]);
    // Every input channel against every output channel, [M, C, kh, kw]; each output keeps its own group's block.
    const [m, cg] = w.shapeOf(like) as number[];
    const blocks = w.node('Reshape', [w.node('Transpose', [cut], { perm: [1, 0, 2, 3] }), w.ints([group, m / group, group, cg, kh, kw])]);
    const eye = Array.from({ length: group * group }, (_, i) => (i % (group + 1) === 0 ? 1 : 0));
    const own = w.node('Mul', [blocks, w.node('Reshape', [w.floats(eye), w.ints([group, 1, group, 1, 1, 1])])]);
    const summed = w.node('ReduceSum', [own, w.ints([2])], { keepdims: 0 });
    w.node('Reshape', [summed, w.ints([m, cg, kh, kw])], {}, [...n.outputs]);
  },
};
