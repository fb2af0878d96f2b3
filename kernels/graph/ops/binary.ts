import { broadcastShapes, mapBroadcast } from '../broadcast';
import type { GradContext, OpDef } from '../op';

/**
 * An elementwise op of two broadcast inputs. `grads` gives dL/da and dL/db at the output's shape; each is summed
 * back to its input's shape (SumAs), which is what broadcasting means for a gradient.
 */
export function binaryOp(
  name: string,
  f: (a: number, b: number) => number,
  grads?: (c: GradContext & { dy: string; a: string; b: string; y: string }) => [string | undefined, string | undefined],
): OpDef {
  return {
    name,
    shape: ([a, b]) => [broadcastShapes(a, b)],
    cpu: (inputs) => [mapBroadcast(inputs, f)],
    backward:
      grads &&
      ((c) => {
        const dy = c.dOutputs[0];
        if (!dy) return [undefined, undefined];
        const [a, b] = c.node.inputs;
        return grads({ ...c, dy, a, b, y: c.node.outputs[0] }).map((d, i) => d && c.g.op('SumAs', [d, c.node.inputs[i]]));
      }),
  };
}
