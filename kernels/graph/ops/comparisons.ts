import { broadcastShapes, mapBroadcast } from '../broadcast';
import type { OpDef } from '../op';

/**
 * Comparisons give 1 or 0 as floats (the IR has one element type); ONNX's boolean result is cast back. They pass no
 * gradient: almost everywhere their derivative is zero.
 */
function comparison(name: string, f: (a: number, b: number) => boolean, wgsl: string): OpDef {
  return {
    name,
    gpu: { kind: 'binary', wgsl: `select(0.0, 1.0, ${wgsl})` },
    shape: ([a, b]) => [broadcastShapes(a, b)],
    cpu: (inputs) => [mapBroadcast(inputs, (a, b) => (f(a, b) ? 1 : 0))],
    backward: () => [undefined, undefined],
    onnx: (w, n) => void w.node('Cast', [w.node(name, [...n.inputs])], { to: 1 }, [...n.outputs]),
  };
}

export const Greater = comparison('Greater', (a, b) => a > b, 'a > b');
export const GreaterOrEqual = comparison('GreaterOrEqual', (a, b) => a >= b, 'a >= b');
export const Equal = comparison('Equal', (a, b) => a === b, 'a == b');
