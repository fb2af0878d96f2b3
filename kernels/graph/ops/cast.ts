import { GridError } from '../../../protocol/errors';
import type { Attrs } from '../ir';
import type { OpDef } from '../op';
import { map } from './unary';

// ONNX element types: FLOAT 1, INT32 6, INT64 7, BOOL 9, FLOAT16 10, DOUBLE 11.
const FLOATS = new Set([1, 10, 11]);
const INTS = new Set([6, 7]);

function target(attrs: Attrs): 'float' | 'int' | 'bool' {
  const to = Number(attrs.to);
  if (FLOATS.has(to)) return 'float';
  if (INTS.has(to)) return 'int';
  if (to === 9) return 'bool';
  throw new GridError('UNSUPPORTED_OP', `Cast to element type ${attrs.to}`);
}

/**
 * ONNX's Cast in a graph whose values are all float32: to a float it is the identity, to an integer it truncates
 * toward zero, to a bool it is 1 where the value is not 0. Only a cast to float passes a gradient.
 */
export const Cast: OpDef = {
  name: 'Cast',
  shape: ([x], attrs) => {
    target(attrs); // refuses a type it cannot hold
    return [x];
  },
  cpu: ([x], attrs) => {
    const to = target(attrs);
    return [to === 'float' ? x : map(x, to === 'int' ? Math.trunc : (v) => (v !== 0 ? 1 : 0))];
  },
  backward: ({ node, dOutputs: [dy] }) => [target(node.attrs) === 'float' ? dy : undefined],
  onnx: (w, n) => {
    const [x] = n.inputs;
    const to = target(n.attrs);
    if (to === 'float') w.node('Identity', [x], {}, [...n.outputs]);
    else if (to === 'int') w.node('Mul', [w.node('Sign', [x]), w.node('Floor', [w.node('Abs', [x])])], {}, [...n.outputs]);
    else w.node('Cast', [w.node('Not', [w.node('Equal', [x, w.floats([0])])])], { to: 1 }, [...n.outputs]);
  },
};
