import type { JobSpec } from '../protocol/job';
import { inferenceKind } from './inference/kind';
import { registerInferenceRoutes } from './inference/routes';
import type { JobKind, KindTable } from './jobs/kind';
import { Scheduler as JobsScheduler, type SchedulerOptions } from './jobs/scheduler';
import { TrustLedger } from './jobs/trust-ledger';
import type { ApiContext } from './net/api';
import type { Evaluator } from './training/evaluate';
import { TrainingKind } from './training/kind';
import { registerTrainingRoutes } from './training/routes';

/** The one place that knows which kind runs a spec's mode; a new kind is a folder and a line here. */
export function jobKinds(evaluator?: Evaluator): KindTable {
  const ledger = new TrustLedger(); // one record of each worker, whatever kind of job it computed for
  const training = new TrainingKind(evaluator, ledger);
  const kinds: Record<JobSpec['mode'], JobKind> = { sync: training, local: training, inference: inferenceKind(ledger) };
  return (mode) => kinds[mode] ?? training;
}

/** Each kind's own API routes (model export for training, outputs for inference). */
export const KIND_ROUTES: ((api: ApiContext) => void)[] = [registerTrainingRoutes, registerInferenceRoutes];

/** The jobs core with this grid's kinds. */
export class Scheduler extends JobsScheduler {
  constructor(o: Omit<SchedulerOptions, 'kinds'> & { evaluator?: Evaluator }) {
    super({ ...o, kinds: jobKinds(o.evaluator) });
  }
}
