import type { TargetKind } from '../../protocol/model';
import type { GraphBuilder } from './builder';

/**
 * The training loss of `logits` [batch, outputs] against `y` [batch, outputs] and how many samples it got right,
 * by what the data set labels samples with:
 * - class (y one-hot, at each position of a sequence): mean softmax cross-entropy (per token for a sequence); right
 *   when the label's logit is the largest;
 * - multi-label (y 0/1): binary cross-entropy on each output's logit, the mean over all; right when every label's
 *   logit is on its side of 0 (subset accuracy: a count of samples, as results carry it);
 * - regression (y values): mean squared error over all outputs; nothing counts as right.
 */
export function lossAndCorrect(g: GraphBuilder, logits: string, y: string, kind: TargetKind): { loss: string; correct: string } {
  const all = { keepdims: 0 };
  if (kind === 'regression') {
    const d = g.op('Sub', [logits, y]);
    return { loss: g.op('ReduceMean', [g.op('Mul', [d, d])], all), correct: g.op('Mul', [g.op('ReduceSum', [y], all), g.constant(0)]) };
  }
  if (kind === 'multi-label') {
    // softplus(z) - y·z, written max(z, 0) - y·z + log(1 + e^-|z|) so that no exp overflows
    const abs = g.op('Add', [g.op('Relu', [logits]), g.op('Relu', [g.op('Neg', [logits])])]);
    const softplusTail = g.op('Log', [g.op('Add', [g.constant(1), g.op('Exp', [g.op('Neg', [abs])])])]);
    const perLabel = g.op('Add', [g.op('Sub', [g.op('Relu', [logits]), g.op('Mul', [y, logits])]), softplusTail]);
    const said = g.op('Greater', [logits, g.constant(0)]);
    const rightLabels = g.op('ReduceSum', [g.op('Equal', [said, y])], { axes: [1], keepdims: 0 });
    const allRight = g.op('GreaterOrEqual', [rightLabels, g.constant(g.shapeOf(logits)[1] as number)]);
    return { loss: g.op('ReduceMean', [perLabel], all), correct: g.op('ReduceSum', [allRight], all) };
  }
  const classes = { axes: [-1], keepdims: 0 };
  const logp = g.op('LogSoftmax', [logits], { axis: -1 });
  const perPrediction = g.op('ReduceSum', [g.op('Mul', [y, logp])], classes); // [batch] or [batch, positions]
  // A prediction is right when its label's logit is the largest, in float ops only: counted by ArgMax's int64 results,
  // onnxruntime-web's webgpu provider was 2 of 9 off the CPU here while its logits agreed within 1e-4.
  const labelled = g.op('ReduceSum', [g.op('Mul', [y, logits])], classes);
  const hits = g.op('GreaterOrEqual', [labelled, g.op('ReduceMax', [logits], classes)]);
  // A sequence counts the share of its positions right, so `correct` stays a count of samples.
  const perSample = g.shapeOf(logits).length > 2 ? g.op('ReduceMean', [hits], { axes: [1], keepdims: 0 }) : hits;
  return { loss: g.op('Neg', [g.op('ReduceMean', [perPrediction], all)]), correct: g.op('ReduceSum', [perSample], all) };
}
