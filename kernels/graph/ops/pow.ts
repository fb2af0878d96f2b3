import { binaryOp } from './binary';

/** d(a^b) = b · a^(b-1) da + ln(a) · y db (the exponent's gradient needs a > 0, as its value does for non-integer b). */
export const Pow = binaryOp(
  'Pow',
  (a, b) => a ** b,
  ({ g, dy, a, b, y }) => {
    const da = g.op('Mul', [dy, g.op('Mul', [b, g.op('Pow', [a, g.op('Sub', [b, g.constant(1)])])])]);
    return [da, g.op('Mul', [dy, g.op('Mul', [g.op('Log', [a]), y])])];
  },
);
