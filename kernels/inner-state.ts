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

/** The inner optimizer's settings: AdamW at the job's inner rate, PyTorch's betas and eps, no weight decay. */
export const innerAdamW = (lr: number) => ({ lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });

export const newInnerState = (n: number): InnerState => ({ m: new Float32Array(n), v: new Float32Array(n), step: 0 });
