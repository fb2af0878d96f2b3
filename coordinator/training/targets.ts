import { targetsOf } from '../../protocol/dataset';
import { GridError } from '../../protocol/errors';
import type { TrainingSpec } from '../../protocol/job';
import { classCount } from '../../protocol/model';
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
  return { ...spec, model };
}
