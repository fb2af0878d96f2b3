import { GridError } from '../../../protocol/errors';
import type { OpDef } from '../op';

/** Rows of `data` (axis 0) picked by `indices`, which are whole numbers carried as floats (the IR's one element type). */
export const Gather: OpDef = {
  name: 'Gather',
  gpu: { kind: 'gather' },
  shape: ([data, indices], attrs) => {
    if ((attrs.axis ?? 0) !== 0) throw new GridError('UNSUPPORTED_OP', `Gather on axis ${attrs.axis}: only axis 0 (an embedding lookup) is supported`);
    if (typeof data[0] !== 'number') throw new GridError('UNSUPPORTED_OP', 'Gather from the batch axis');
    return [[...indices, ...data.slice(1)]];
  },
  cpu: ([data, indices]) => {
    const row = data.data.length / data.shape[0];
    const out = new Float32Array(indices.data.length * row);
    indices.data.forEach((v, i) => {
      const k = Math.round(v);
      if (!(k >= 0 && k < data.shape[0])) throw new Error(`index ${v} is outside 0..${data.shape[0] - 1}`);
      out.set(data.data.subarray(k * row, (k + 1) * row), i * row);
    });
    return [{ shape: [...indices.shape, ...data.shape.slice(1)], data: out }];
  },
  backward: ({ g, node, dOutputs: [dy] }) => [dy && g.op('GatherGrad', [dy, node.inputs[1], node.inputs[0]]), undefined],
  onnx: (w, n) => void w.node('Gather', [n.inputs[0], w.node('Cast', [n.inputs[1]], { to: 7 })], { axis: 0 }, [...n.outputs]),
};

/** dData of a Gather: each row of dY added into the row it was read from (rows read twice get both). ONNX: ScatterND with add. */
export const GatherGrad: OpDef = {
  name: 'GatherGrad',
  gpu: { kind: 'gatherGrad' },
  shape: ([, , like]) => [like],
  cpu: ([dy, indices, like]) => {
    const row = like.data.length / like.shape[0];
    const out = new Float32Array(like.data.length);
    indices.data.forEach((v, i) => {
      const k = Math.round(v);
      for (let j = 0; j < row; j++) out[k * row + j] += dy.data[i * row + j];
    });
    return [{ shape: like.shape, data: out }];
  },
  backward: ({ g, node, dOutputs: [d] }) => [d && g.op('Gather', [d, node.inputs[1]]), undefined, undefined],
  onnx: (w, n) => {
    const [dy, indices, like] = n.inputs;
    const zeros = w.node('ConstantOfShape', [w.node('Shape', [like])]);
    const at = w.node('Unsqueeze', [w.node('Cast', [indices], { to: 7 }), w.ints([-1])]);
    w.node('ScatterND', [zeros, at, dy], { reduction: 'add' }, [...n.outputs]);
  },
};
