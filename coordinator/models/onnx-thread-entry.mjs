// Piscina thread entry: threads do not take `--import tsx`, so register tsx here, then load the TypeScript tasks.
import { register } from 'tsx/esm/api';

register();
const tasks = await import('./onnx-tasks.ts');
export default tasks.default;
export const heldOutLoss = tasks.heldOutLoss;
export const gradient = tasks.gradient;
export const infer = tasks.infer;
export const localDelta = tasks.localDelta;
