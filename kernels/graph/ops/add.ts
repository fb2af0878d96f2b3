import { binaryOp } from './binary';

export const Add = binaryOp(
  'Add',
  (a, b) => a + b,
  ({ dy }) => [dy, dy],
);
