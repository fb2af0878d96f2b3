import { targetsOf } from '../../protocol/dataset';
import { GridError } from '../../protocol/errors';
import type { TrainingSpec } from '../../protocol/job';
import { classCount, outputPositions } from '../../protocol/model';
import { lossFor } from '../../protocol/targets';
import type { KindContext } from '../jobs/kind';

const bad = (msg: string) => new GridError('BAD_JOB_SPEC', msg);

/**
 * The spec with its model set to train against its data set's targets (classes, multi-label or regression values),
 * which the graphs and the evaluation then follow; a model that cannot is refused, saying why.
 */
export function fitTargets(spec: TrainingSpec, { datasets }: Pick<KindContext, 'datasets'>): TrainingSpec {
  const { name, split } = spec.dataset;
  if (!datasets.has(name, split)) return spec; // checkTraining refuses it, by name
  const t = targetsOf(datasets.get(name, split).manifest);
  const m = spec.model;
  if (m.kind !== 'layers' && m.kind !== 'onnx') {
    if (t.kind !== 'class') throw bad(`the ${m.kind} preset trains on classes; ${name}/${split} has ${t.kind} targets (give the model as layers)`);
    return spec;
  }
  if (m.kind === 'onnx' && m.loss !== lossFor(t) && !(t.kind === 'class' && m.loss === 'binary-cross-entropy'))
    throw bad(`loss ${m.loss} does not fit ${name}/${split}, which has ${t.kind} targets (use ${lossFor(t)})`);
  const model = { ...m, targets: t.kind };
  if (t.kind !== 'class' && classCount(model) !== t.width)
    throw bad(`model has ${classCount(model)} outputs but ${name}/${split} has ${t.width} ${t.kind} targets per sample`);
  // A class per position (a language model's next tokens) needs a model that gives one at each position, and back.
  const positions = outputPositions(model) ?? 1;
  if (t.kind === 'class' && positions !== t.width)
    throw bad(
      t.width > 1
        ? `${name}/${split} has a class at each of ${t.width} positions; the model gives ${positions === 1 ? 'one per sample' : `${positions} positions`}`
        : `the model gives a class at each of ${positions} positions; ${name}/${split} has one per sample (end with meanPool or flatten, then dense)`,
    );
  return { ...spec, model };
}
