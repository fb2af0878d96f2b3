import { f32, onGpu } from '../gpu-form';
import { unaryOp } from './unary';

const alphaOf = (attrs: { alpha?: unknown }) => (typeof attrs.alpha === 'number' ? attrs.alpha : 0.01);

/** x for x > 0, alpha·x otherwise (ONNX's default alpha 0.01). */
export const LeakyRelu = onGpu(
  unaryOp(
    'LeakyRelu',
    (x, attrs) => (x > 0 ? x : alphaOf(attrs) * x),
    ({ g, dy, x, node }) => {
      const alpha = alphaOf(node.attrs);
      const positive = g.op('Greater', [x, g.constant(0)]);
      // slope: 1 where x > 0, alpha elsewhere = alpha + (1 - alpha)·[x > 0]
      return g.op('Mul', [dy, g.op('Add', [g.constant(alpha), g.op('Mul', [positive, g.constant(1 - alpha)])])]);
    },
    (w, n) => void w.node('LeakyRelu', [...n.inputs], { alpha: { float: alphaOf(n.attrs) } }, [...n.outputs]),
  ),
  { kind: 'unary', wgsl: (attrs) => `select(${f32(alphaOf(attrs))} * x, x, x > 0.0)` },
);
