import type { DataClient } from './data';
import { InferenceRunner } from './inference';
import type { WorkerEvent, WorkerOptions } from './options';
import type { ShardRunners } from './shard-runner';
import { TrainingRunner } from './train-task';

/** The runner for each kind of assignment this worker takes; a new kind of work is one line here. */
export function makeRunners(o: WorkerOptions, data: DataClient, emit: (e: WorkerEvent) => void): ShardRunners {
  return {
    assign: new TrainingRunner(o.engines, o.cache, data, (job, rates) => emit({ type: 'engine', job, engine: rates[0].engine, rates }), o.measureMs),
    infer: new InferenceRunner(
      o.inference ?? [],
      o.cache,
      data,
      (sha256) => data.model(sha256),
      (sha256) => data.modelSize(sha256),
    ),
  };
}
