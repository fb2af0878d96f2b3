import { type ModelSpec, stateRanges } from '../protocol/model';

export interface Range {
  start: number;
  end: number;
}

/** Where a model's state lies in its parameter vector: tensors kept as given, and running statistics. */
export interface StateLayout {
  kept: Range[];
  running: Range[];
}

/** How far a running statistic moves toward each step's batch statistic (PyTorch's BatchNorm momentum). */
export const RUNNING_MOMENTUM = 0.1;

export const stateLayout = (model: ModelSpec, frozen: Range[] = []): StateLayout => ({
  kept: [...stateRanges(model, 'kept'), ...frozen],
  running: stateRanges(model, 'running'),
});

/**
 * Run `optimize` (which steps every value of `params` by `update`) so that it leaves the state: kept ranges get
 * their values back, and running statistics instead move by `rate` times their slot of `update` (batch minus running
 * for a gradient; RUNNING_MOMENTUM then. A local-step delta is old minus new; -1 then).
 */
export function stepLeavingState(params: Float32Array, update: Float32Array, layout: StateLayout, rate: number, optimize: () => void) {
  const ranges = [...layout.kept, ...layout.running];
  if (!ranges.length) return optimize();
  const before = ranges.map((r) => params.slice(r.start, r.end));
  optimize();
  ranges.forEach((r, i) => params.set(before[i], r.start));
  for (const r of layout.running) for (let i = r.start; i < r.end; i++) params[i] += rate * update[i];
}
