// Piscina thread entry in CommonJS, for the reason in eval-thread-entry.cjs (Node 20's require() of an ES module can
// abort the process); the sum itself stays in weighted-sum.mjs, which aggregate.ts imports too.
Object.defineProperty(exports, '__esModule', { value: true });
const sum = import('./weighted-sum.mjs');
exports.default = async (task) => (await sum).default(task);
