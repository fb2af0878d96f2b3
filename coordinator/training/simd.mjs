// The SIMD kernels of simd.wat on any Float32Arrays (shared or not): each block is staged into the module's memory
// and back, one copy each way at memcpy speed, so callers keep their own arrays. Plain JavaScript: threads load it.
import { SIMD_WASM } from './simd-wasm.mjs';

/** Floats per staged array: Adam's four fill half of the module's 256 KiB. */
const BLOCK = 8192;
const kernels = new WebAssembly.Instance(new WebAssembly.Module(SIMD_WASM), {}).exports;
const heap = new Float32Array(kernels.memory.buffer);
/** Counts rounded up to whole f32x4 lanes; the lanes past the block are scratch and never copied back. */
const lanes = (n) => (n + 3) & ~3;

/**
 * out[start:end] = sum_i w[i] * g[i][start:end] in f32, summed in the order given, so the result does not depend on
 * how ranges are split among threads.
 * @param {Float32Array} out @param {Float32Array[]} grads @param {number[]} weights @param {number} start @param {number} end
 */
export function weightedSumRange(out, grads, weights, start, end) {
  if (grads.length === 0) return void out.fill(0, start, end);
  for (let s0 = start; s0 < end; s0 += BLOCK) {
    const s1 = Math.min(end, s0 + BLOCK);
    for (let i = 0; i < grads.length; i++) {
      heap.set(grads[i].subarray(s0, s1), BLOCK);
      (i === 0 ? kernels.scale : kernels.axpy)(0, BLOCK * 4, weights[i], lanes(s1 - s0));
    }
    out.set(heap.subarray(0, s1 - s0), s0);
  }
}

/**
 * One Adam(W) step in place over every element: gi = g + l2 p; m = b1 m + (1 - b1) gi; v = b2 v + (1 - b2) gi^2;
 * p = keep p - mScale m / (sqrt(vScale v) + eps).
 * @param {Float32Array} p @param {Float32Array} g @param {Float32Array} m @param {Float32Array} v
 * @param {{ b1: number, b2: number, mScale: number, vScale: number, eps: number, keep: number, l2: number }} c
 */
export function adamStep(p, g, m, v, c) {
  for (let s0 = 0; s0 < p.length; s0 += BLOCK) {
    const s1 = Math.min(p.length, s0 + BLOCK);
    const n = s1 - s0;
    const [gAt, mAt, vAt] = [1, 2, 3].map((k) => k * lanes(n)); // the layout simd.wat's adam reads
    heap.set(p.subarray(s0, s1), 0);
    heap.set(g.subarray(s0, s1), gAt);
    heap.set(m.subarray(s0, s1), mAt);
    heap.set(v.subarray(s0, s1), vAt);
    kernels.adam(0, lanes(n), c.b1, c.b2, c.mScale, c.vScale, c.eps, c.keep, c.l2);
    p.set(heap.subarray(0, n), s0);
    m.set(heap.subarray(mAt, mAt + n), s0);
    v.set(heap.subarray(vAt, vAt + n), s0);
  }
}

/**
 * The dot product of two arrays of one length, each product in f32 and summed in f64: a result's agreement with the
 * reference, for every result of every judged round.
 * @param {Float32Array} x @param {Float32Array} y @returns {number}
 */
export function dot(x, y) {
  let sum = 0;
  for (let s0 = 0; s0 < x.length; s0 += BLOCK) {
    const s1 = Math.min(x.length, s0 + BLOCK);
    heap.set(x.subarray(s0, s1), 0);
    heap.set(y.subarray(s0, s1), BLOCK);
    heap.fill(0, s1 - s0, lanes(s1 - s0)); // the last lane's spare elements must not count (0 times stale NaN is NaN)
    heap.fill(0, BLOCK + s1 - s0, BLOCK + lanes(s1 - s0));
    sum += kernels.dot(0, BLOCK * 4, lanes(s1 - s0));
  }
  return sum;
}

const rotl = (x, r) => (x << r) | (x >>> (32 - r));

/** Scratch for stats' answers, past the staging blocks. */
const STATS_AT = 4 * BLOCK;
const statsView = new DataView(kernels.memory.buffer, STATS_AT * 4, 80);
/** Where each fingerprint starts: drawn per process, so nobody outside can craft two results that collide. */
const FINGERPRINT_SEED = crypto.getRandomValues(new Uint32Array(16));
/** Counts rounded up to whole steps of stats (four f32x4 vectors). */
const quads = (n) => (n + 15) & ~15;

/**
 * The largest magnitude (NaN when any element is NaN, Infinity when any is infinite), the L2 norm (summed in f64) and
 * a 128-bit fingerprint of the bits in one pass: the checks every result gets before it counts, replays included.
 * @param {Float32Array} values @returns {{ maxAbs: number, norm: number, fingerprint: string }}
 */
export function vectorStats(values) {
  let maxAbs = 0;
  let sumSq = 0;
  for (let k = 0; k < 16; k++) statsView.setUint32(16 + 4 * k, FINGERPRINT_SEED[k] ^ values.length, true);
  for (let s0 = 0; s0 < values.length; s0 += BLOCK) {
    const s1 = Math.min(values.length, s0 + BLOCK);
    heap.set(values.subarray(s0, s1), 0);
    heap.fill(0, s1 - s0, quads(s1 - s0)); // the last step's spare elements must not count
    kernels.stats(0, quads(s1 - s0), STATS_AT * 4);
    const m = statsView.getFloat32(0, true);
    maxAbs = Math.max(maxAbs, m); // NaN stays NaN
    sumSq += statsView.getFloat64(8, true);
  }
  let fingerprint = '';
  for (let k = 0; k < 4; k++) {
    // The four states folded into 128 bits, each turned first so equal states do not cancel.
    let word = 0;
    for (let h = 0; h < 4; h++) word ^= rotl(statsView.getUint32(16 * (h + 1) + 4 * k, true), 8 * h);
    fingerprint += (word >>> 0).toString(16).padStart(8, '0');
  }
  return { maxAbs, norm: Math.sqrt(sumSq), fingerprint };
}
