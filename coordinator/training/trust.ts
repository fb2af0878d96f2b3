import { l2Norm } from './aggregate';
import { dot } from './simd.mjs';

/**
 * The root of trust of a synchronous round (FLTrust, Cao et al. 2021): a gradient the coordinator computed itself, on
 * the same parameters, over samples of the operator's own data, and the loss on other samples (held out) before the
 * step. Contributions are judged against it, never against each other.
 */
export interface Reference {
  grads: Float32Array;
  norm: number;
  samples: number;
  heldOutLoss: number;
}

/** One result as the reference sees it. */
export interface Scored {
  workerId: string;
  values: Float32Array;
  samples: number;
  /** Cosine with the reference: below zero the result pulls against it. */
  cosine: number;
  /** Its norm, and the most an honest result over its samples could be expected to have. */
  norm: number;
  bound: number;
}

/** A result this many times beyond its bound is no noisy gradient but a scaled one: evidence on its own. */
export const FAR_BEYOND = 10;

/**
 * Score one result against the reference (its norm given when already known: every accepted result's is). Its norm
 * bound is the reference's times sqrt(reference samples / its samples): a mean over fewer samples carries more noise,
 * at most that much more norm when all of it were noise.
 */
export function score(workerId: string, values: Float32Array, samples: number, ref: Reference, norm = l2Norm(values)): Scored {
  const cosine = norm > 0 && ref.norm > 0 ? dot(values, ref.grads) / (norm * ref.norm) : 0;
  const bound = ref.norm * Math.sqrt(Math.max(1, ref.samples / Math.max(1, samples)));
  return { workerId, values, samples, cosine, norm, bound };
}

/**
 * The cosine below which a result counts for nothing. Weighing by agreement (FLTrust, or anything short of full weight
 * below 0.1) keeps the results whose noise happens to lean the way the reference's own 128 samples do, so each step
 * carries that reference's noise: a volunteer's synchronous job took 1,201 rounds to 88% (seeds 2-4) against about
 * 800 unjudged. Where results are spot-checked (synchronous jobs), honest ones around zero count as they are; those
 * clearly against the reference (a flip's are near -0.3) count nothing, the bound the trust ledger's evidence uses
 * too (jobs/trust-ledger.ts), and what one counted lie can do is bounded by its norm's bound until a check catches it.
 */
export const AGAINST = -0.1;

/**
 * Where nothing recomputes results (local steps), agreement is the only guard: a result counts fully from this cosine
 * up, in part down to zero, and nothing below.
 */
export const FULL_AGREEMENT = 0.1;

/**
 * What a result weighs in the round: its samples times its worker's standing, when it is not against the reference
 * (`spotChecked`), or times its agreement with the reference (otherwise).
 */
export const weightOf = (s: Scored, standing: number, spotChecked = true) =>
  s.samples * standing * (spotChecked ? (s.cosine > AGAINST ? 1 : 0) : Math.min(1, Math.max(0, s.cosine / FULL_AGREEMENT)));

/** How much to scale a result so its norm stays within its bound. */
export const clipFactor = (s: Scored) => (s.norm > s.bound && s.norm > 0 ? s.bound / s.norm : 1);

/**
 * The trusted combination's coefficient for each result: its weight, times what clips it to its bound, over the sum
 * of the weights. Undefined when nothing weighs anything: the reference itself is then the update (a round of only
 * hostile or only unlucky results still moves the model the way the operator's own data says).
 */
export function trustedCoefficients(scored: Scored[], weights: number[]): number[] | undefined {
  const total = weights.reduce((a, b) => a + b, 0);
  return total > 0 ? scored.map((s, i) => (weights[i] * clipFactor(s)) / total) : undefined;
}

/**
 * A held-out loss after the step this far above the loss before it (relative, plus an absolute floor for small
 * losses) means the update blew the model up: it is not stepped on.
 */
export const HELD_OUT_RISE = { relative: 0.5, absolute: 0.05 };

export const heldOutAccepts = (before: number, after: number) =>
  Number.isFinite(after) && after <= before * (1 + HELD_OUT_RISE.relative) + HELD_OUT_RISE.absolute;
