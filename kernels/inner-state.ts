/**
 * A worker's inner AdamW state for local-step training (DiLoCo): kept across rounds while the worker stays on a
 * job, so each round's H steps continue the same optimizer instead of restarting it. Updated in place.
 */
export interface InnerState {
  m: Float32Array;
  v: Float32Array;
  /** Steps taken so far (bias correction continues from here). */
  step: number;
}

export const newInnerState = (n: number): InnerState => ({ m: new Float32Array(n), v: new Float32Array(n), step: 0 });
