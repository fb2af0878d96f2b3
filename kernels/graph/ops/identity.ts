import { unaryOp } from './unary';

export const Identity = unaryOp(
  'Identity',
  (x) => x,
  ({ dy }) => dy,
);
