import { ERF_WGSL, f32, onGpu } from '../gpu-form';
import { erf } from './erf';
import { unaryOp } from './unary';

const C = Math.sqrt(2 / Math.PI);
const K = 0.044715;
const tanhForm = (attrs: { approximate?: unknown }) => attrs.approximate === 'tanh';

/**
 * ONNX's Gelu (opset 20; older exports write its erf form as Erf, Mul and Add, which the grid reads too): x·Φ(x),
 * or with approximate "tanh" ½x(1 + tanh(√(2/π)(x + 0.044715x³))). Written to ONNX in that decomposed form (opset 17).
 */
export const Gelu = onGpu(
  unaryOp(
    'Gelu',
    (x, attrs) => (tanhForm(attrs) ? 0.5 * x * (1 + Math.tanh(C * (x + K * x ** 3))) : 0.5 * x * (1 + erf(x / Math.SQRT2))),
    ({ g, node, dy, x }) => {
      const half = g.constant(0.5);
      if (!tanhForm(node.attrs)) {
        // Φ(x) + x·φ(x)
        const cdf = g.op('Mul', [half, g.op('Add', [g.constant(1), g.op('Erf', [g.op('Mul', [x, g.constant(Math.SQRT1_2)])])])]);
        const pdf = g.op('Mul', [g.constant(1 / Math.sqrt(2 * Math.PI)), g.op('Exp', [g.op('Mul', [g.constant(-0.5), g.op('Mul', [x, x])])])]);
        return g.op('Mul', [dy, g.op('Add', [cdf, g.op('Mul', [x, pdf])])]);
      }
      // ½(1 + t) + ½x(1 - t²)·√(2/π)(1 + 3·0.044715x²), t = tanh(√(2/π)(x + 0.044715x³))
      const x2 = g.op('Mul', [x, x]);
      const t = g.op('Tanh', [g.op('Mul', [g.constant(C), g.op('Add', [x, g.op('Mul', [g.constant(K), g.op('Mul', [x2, x])])])])]);
      const slope = g.op('Mul', [g.constant(C), g.op('Add', [g.constant(1), g.op('Mul', [g.constant(3 * K), x2])])]);
      const inner = g.op('Mul', [g.op('Mul', [half, x]), g.op('Mul', [g.op('Sub', [g.constant(1), g.op('Mul', [t, t])]), slope])]);
      return g.op('Mul', [dy, g.op('Add', [g.op('Mul', [half, g.op('Add', [g.constant(1), t])]), inner])]);
    },
    (w, n) => {
      const [x] = n.inputs;
      const half = w.floats([0.5]);
      const x3 = w.node('Mul', [w.node('Mul', [x, x]), x]);
      const inner = tanhForm(n.attrs)
        ? w.node('Tanh', [w.node('Mul', [w.floats([C]), w.node('Add', [x, w.node('Mul', [w.floats([K]), x3])])])])
        : w.node('Erf', [w.node('Mul', [x, w.floats([Math.SQRT1_2])])]);
      w.node('Mul', [w.node('Mul', [half, x]), w.node('Add', [w.floats([1]), inner])], {}, [...n.outputs]);
    },
  ),
  {
    kind: 'unary',
    wgsl: (attrs) =>
      tanhForm(attrs) ? `0.5 * x * (1.0 + tanh(clamp(${f32(C)} * (x + ${f32(K)} * x * x * x), -15.0, 15.0)))` : '0.5 * x * (1.0 + erf_(x * 0.70710678118))',
    fns: ERF_WGSL,
  },
);
