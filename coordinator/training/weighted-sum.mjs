// The weighted sum's piscina task. Plain JavaScript so worker threads load it without a TypeScript loader;
// aggregate.ts calls the same function (simd.mjs) on the calling thread.
import { weightedSumRange } from './simd.mjs';

/** The piscina task: one coordinate range of the sum, written into shared memory. */
export default function sumTask({ out, grads, weights, start, end }) {
  weightedSumRange(out, grads, weights, start, end);
  return end - start;
}
