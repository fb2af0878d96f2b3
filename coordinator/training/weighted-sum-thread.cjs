// The weighted sum's piscina task, in CommonJS for the reason in coordinator/models/onnx-thread-entry.cjs (Node 20's require() of an ES
// module can abort the process): one coordinate range of the sum (simd.mjs), written into shared memory.
Object.defineProperty(exports, '__esModule', { value: true });
const simd = import('./simd.mjs');
exports.default = async ({ out, grads, weights, start, end }) => {
  (await simd).weightedSumRange(out, grads, weights, start, end);
  return end - start;
};
