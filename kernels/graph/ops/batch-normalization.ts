import { GridError } from '../../../protocol/errors';
import type { Attrs, Shape } from '../ir';
import type { Emitter, OpDef } from '../op';

const epsOf = (attrs: Attrs) => (typeof attrs.epsilon === 'number' ? attrs.epsilon : 1e-5);

/** [1, C, 1, ...]: a per-channel vector shaped to broadcast over an input of rank `rank`. */
const perChannel = (channels: number, rank: number) => [1, channels, ...Array(rank - 2).fill(1)];

function channelsOf(x: Shape, op: string): number {
  const c = x[1];
  if (x.length < 2 || typeof c !== 'number')
    throw new GridError('BAD_MODEL', `${op} needs an input [batch, channels, ...] with a known channel count; got [${x}]`);
  return c;
}

/**
 * ONNX's BatchNormalization as inference graphs hold it (training_mode 0): each channel normalized by given
 * statistics, y = (x - mean) / sqrt(var + eps) · scale + bias. A layer list trains with the batch's own statistics
 * instead (kernels/graph/norms.ts writes that form); an imported model's statistics stay as the file has them.
 */
export const BatchNormalization: OpDef = {
  name: 'BatchNormalization',
  gpu: {
    kind: 'compose',
    build: (g, node) => {
      const [x, scale, bias, mean, variance] = node.inputs;
      const wide = (v: string) => broadcastPerChannel(g, v, x);
      const invStd = g.op('Div', [g.constant(1), g.op('Sqrt', [g.op('Add', [variance, g.constant(epsOf(node.attrs))])])]);
      return [g.op('Add', [g.op('Mul', [g.op('Sub', [x, wide(mean)]), wide(g.op('Mul', [scale, invStd]))]), wide(bias)])];
    },
  },
  shape: ([x, ...perC], attrs) => {
    if (attrs.training_mode === 1) throw new GridError('UNSUPPORTED_OP', 'BatchNormalization in training mode (export the model in eval mode)');
    const c = channelsOf(x, 'BatchNormalization');
    if (perC.some((s) => s.length !== 1 || s[0] !== c)) throw new GridError('BAD_MODEL', `BatchNormalization on ${c} channels needs four vectors of ${c}`);
    return [x];
  },
  cpu: ([x, scale, bias, mean, variance], attrs) => {
    const eps = epsOf(attrs);
    const [, c] = x.shape;
    const inner = x.shape.slice(2).reduce((a, b) => a * b, 1);
    const data = new Float32Array(x.data.length);
    for (let i = 0; i < data.length; i++) {
      const k = Math.floor(i / inner) % c;
      data[i] = ((x.data[i] - mean.data[k]) / Math.sqrt(variance.data[k] + eps)) * scale.data[k] + bias.data[k];
    }
    return [{ shape: x.shape, data }];
  },
  backward: ({ g, node, dOutputs: [dy] }) => {
    if (!dy) return [undefined, undefined, undefined, undefined, undefined];
    const [x, scale, bias, mean, variance] = node.inputs;
    const shape = perChannel(channelsOf(g.shapeOf(x), 'BatchNormalization'), g.shapeOf(x).length);
    const wide = (v: string) => g.op('Reshape', [v], { shape });
    const back = (v: string, like: string) => g.op('ReshapeAs', [g.op('SumAs', [v, wide(like)]), like]);
    const invStd = g.op('Div', [g.constant(1), g.op('Sqrt', [g.op('Add', [variance, g.constant(epsOf(node.attrs))])])]);
    const normed = g.op('Mul', [g.op('Sub', [x, wide(mean)]), wide(invStd)]);
    const dx = g.op('Mul', [dy, wide(g.op('Mul', [scale, invStd]))]);
    // dvar = Σ dy · scale · (x - mean) · -½ (var + eps)^-3/2 = Σ (dy · normed) · scale · -½ / (var + eps), per channel
    const dNormed = back(g.op('Mul', [dy, normed]), scale);
    const dvar = g.op('Mul', [dNormed, g.op('Mul', [scale, g.op('Mul', [g.constant(-0.5), g.op('Mul', [invStd, invStd])])])]);
    return [dx, dNormed, back(dy, bias), g.op('Neg', [back(dx, mean)]), dvar];
  },
  onnx: (w, n) => void w.node('BatchNormalization', [...n.inputs], { epsilon: { float: epsOf(n.attrs) } }, [...n.outputs]),
};

/** The op's per-channel vector `v` [C] shaped to broadcast over `x` (for the training form's batch statistics). */
export function broadcastPerChannel(g: Emitter, v: string, x: string): string {
  return g.op('Reshape', [v], { shape: perChannel(channelsOf(g.shapeOf(x), 'batchNorm'), g.shapeOf(x).length) });
}
