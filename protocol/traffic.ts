import { frameBytes } from './frames';

/** What a training spec's shards cost a worker's connection (the fields of TrainingSpec this reads). */
export interface TrafficSpec {
  mode: 'sync' | 'local';
  shardSize: number;
  local?: { steps: number };
  encoding: 'fp32' | 'fp16' | 'int8';
  download: 'fp32' | 'int8-delta';
}

/** The volunteer speed the form prices an hour at: a stated yardstick, not a measurement of anyone's machine. */
export const REFERENCE_SAMPLES_PER_SEC = 1000;
/** Bytes an hour (both ways) past which a job asks more of a home connection than it should. */
export const HOME_BYTES_PER_HOUR = 1e9;

/**
 * Bytes one shard moves once a worker is in the job: its parameters down (a full fp32 copy, or an int8 delta from the
 * version it holds) and its result up, over the samples it computes (a local-step shard computes `steps` batches).
 */
export function shardTraffic(spec: TrafficSpec, parameters: number) {
  const down = frameBytes(spec.download === 'int8-delta' ? 'int8' : 'fp32', parameters); // a delta is an int8 frame
  const up = frameBytes(spec.encoding, parameters);
  const samples = spec.mode === 'local' ? spec.shardSize * (spec.local?.steps ?? 1) : spec.shardSize;
  const perSample = (down + up) / samples;
  return { down, up, samples, per1000Samples: perSample * 1000, perHourAtReference: perSample * REFERENCE_SAMPLES_PER_SEC * 3600 };
}
