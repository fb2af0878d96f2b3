import { broadcastStrides, forEachIndex, sizeOfDims } from '../broadcast';
import type { HostTensor } from '../ir';
import type { OpDef } from '../op';

const permOf = (attrs: { perm?: unknown }, rank: number) =>
  Array.isArray(attrs.perm) ? (attrs.perm as number[]) : Array.from({ length: rank }, (_, i) => rank - 1 - i);

/** Axes permuted (reversed when no `perm` is given, as ONNX does). */
export function transpose(x: HostTensor, perm: number[]): HostTensor {
  const shape = perm.map((p) => x.shape[p]);
  const strides = broadcastStrides(x.shape, x.shape);
  const data = new Float32Array(sizeOfDims(shape));
  forEachIndex(shape, [perm.map((p) => strides[p])], (off, flat) => {
    data[flat] = x.data[off[0]];
  });
  return { shape, data };
}

export const Transpose: OpDef = {
  name: 'Transpose',
  gpu: { kind: 'transpose' },
  shape: ([x], attrs) => [permOf(attrs, x.length).map((p) => x[p])],
  cpu: ([x], attrs) => [transpose(x, permOf(attrs, x.shape.length))],
  backward: ({ g, node, dOutputs: [dy] }) => {
    if (!dy) return [undefined];
    const perm = permOf(node.attrs, g.shapeOf(node.inputs[0]).length);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [g.op('Transpose', [dy], { perm: inverse })];
  },
  onnx: (w, n) => void w.node('Transpose', [...n.inputs], { perm: permOf(n.attrs, w.shapeOf(n.inputs[0]).length) }, [...n.outputs]),
};
