import { GridError } from '../../../protocol/errors';
import type { OpDef } from '../op';

/**
 * ONNX's Dropout as an inference graph holds it: the identity (an exporter in eval mode usually drops it; some
 * keep it). A Dropout that asks for its mask, or for training mode, is refused: a grid result must not depend on
 * a worker's random draws, or redundant copies of a shard could never agree.
 */
export const Dropout: OpDef = {
  name: 'Dropout',
  gpu: { kind: 'alias' },
  shape: ([x], attrs) => {
    if (attrs.training_mode === 1) throw new GridError('UNSUPPORTED_OP', 'Dropout in training mode');
    return [x];
  },
  cpu: ([x]) => [x],
  backward: ({ dOutputs: [dy] }) => [dy],
  onnx: (w, n) => void w.node('Identity', [n.inputs[0]], {}, [...n.outputs]),
};
