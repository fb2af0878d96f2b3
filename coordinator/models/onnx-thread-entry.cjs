// Piscina thread entry in CommonJS: piscina require()s an entry before it import()s it; a thread doing that
// on Node 20.19+ once aborted a CI test process inside require() of an ES module (`Assertion failed: facade->InstantiateModule`
// in module_wrap.cc, not reproduced since), so require() here only ever meets CommonJS.
Object.defineProperty(exports, '__esModule', { value: true });
const tasks = import('./onnx-thread-entry.mjs');
exports.default = async (task) => (await tasks).default(task);
exports.gradient = async (task) => (await tasks).gradient(task);
exports.heldOutLoss = async (task) => (await tasks).heldOutLoss(task);
exports.infer = async (task) => (await tasks).infer(task);
exports.localDelta = async (task) => (await tasks).localDelta(task);
