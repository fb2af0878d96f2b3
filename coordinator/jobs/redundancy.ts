import type { Frame } from '../../protocol/frames';

/**
 * Validation by redundancy (BOINC's core idea): a sampled fraction of shards is computed again by a worker of
 * another identity and token, and the two results must agree; on a mismatch a third worker decides, and the
 * outvoted result is discarded. Everything here works on a shard's float result, whatever it holds (a gradient, a
 * local-step delta, inference outputs), so one mechanism serves every kind of job.
 */

/** One computation of a shard, as far as agreement is concerned. */
export interface Computation {
  values: Float32Array;
  /** An upper bound on the L2 error its wire encoding added (0 for f32). */
  rounding: number;
}

export type Verdict =
  /** Fewer results than computations asked for: wait. */
  | { kind: 'pending' }
  /** Every result agrees with every other. */
  | { kind: 'verified' }
  /** Two results disagree and nobody has broken the tie: a third computation is needed. */
  | { kind: 'tiebreak' }
  /** Some results agree with another; `outvoted` agree with none. */
  | { kind: 'resolved'; outvoted: number[] }
  /** Three or more results, none agreeing with another: nothing can be trusted, compute again. */
  | { kind: 'undecided' };

const norm = (v: Float32Array) => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
};

/**
 * Whether two computations of one shard agree: their L2 distance is within `tolerance` of the larger norm (engines
 * sum in different orders) plus what each one's encoding may have rounded away.
 */
export function agree(a: Computation, b: Computation, tolerance: number): boolean {
  let d = 0;
  for (let i = 0; i < a.values.length; i++) {
    const x = a.values[i] - b.values[i];
    d += x * x;
  }
  return Math.sqrt(d) <= tolerance * Math.max(norm(a.values), norm(b.values)) + a.rounding + b.rounding + 1e-12;
}

/** The verdict on a shard's results so far, when `wanted` computations of it were asked for. */
export function verdict(results: Computation[], wanted: number, tolerance: number): Verdict {
  if (results.length < wanted) return { kind: 'pending' };
  const agreesWithSomeone = results.map((r, i) => results.some((o, j) => j !== i && agree(r, o, tolerance)));
  if (results.length === 2) return agreesWithSomeone[0] ? { kind: 'verified' } : { kind: 'tiebreak' };
  if (!agreesWithSomeone.some(Boolean)) return { kind: 'undecided' };
  const outvoted = agreesWithSomeone.flatMap((ok, i) => (ok ? [] : [i]));
  return outvoted.length ? { kind: 'resolved', outvoted } : { kind: 'verified' };
}

/** An upper bound on the L2 error the frame's encoding added to `values` (its decoded contents). */
export function encodingError(frame: Frame, values: Float32Array): number {
  if (frame.dtype === 'f16') return norm(values) * 2 ** -11;
  if (frame.dtype !== 'int8') return 0;
  // int8: each element is off by at most half its block's step; the steps are the payload's leading f32 scales.
  const blocks = Math.ceil(frame.count / frame.blockSize);
  const scales = new DataView(frame.payload.buffer, frame.payload.byteOffset, blocks * 4);
  let s = 0;
  for (let b = 0; b < blocks; b++) {
    const half = scales.getFloat32(b * 4, true) / 2;
    s += Math.min(frame.blockSize, frame.count - b * frame.blockSize) * half * half;
  }
  return Math.sqrt(s);
}
