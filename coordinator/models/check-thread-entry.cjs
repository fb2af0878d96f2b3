// Piscina thread entry in CommonJS, for the reason in coordinator/models/onnx-thread-entry.cjs (Node 20's require()
// of an ES module with top-level await can abort the process).
Object.defineProperty(exports, '__esModule', { value: true });
const check = import('./check-thread-entry.mjs');
exports.default = async (task) => (await check).default(task);
