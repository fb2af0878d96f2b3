import type { Attrs, HostTensor } from '../ir';
import type { GradContext, OpDef } from '../op';

/**
 * An elementwise op of one input. `grad` gives dL/dx from the context (dy, x and y by name): written with other
 * registered ops, so every engine that runs the forward runs the backward too.
 */
export function unaryOp(
  name: string,
  f: (x: number, attrs: Attrs) => number,
  grad?: (c: GradContext & { dy: string; x: string; y: string }) => string,
  onnx?: OpDef['onnx'],
): OpDef {
  return {
    name,
    shape: ([x]) => [x],
    cpu: ([x], attrs) => [map(x, (v) => f(v, attrs))],
    backward: grad && ((c) => (c.dOutputs[0] ? [grad({ ...c, dy: c.dOutputs[0], x: c.node.inputs[0], y: c.node.outputs[0] })] : [undefined])),
    onnx,
  };
}

export const map = (t: HostTensor, f: (v: number) => number): HostTensor => ({ shape: t.shape, data: t.data.map(f) });
