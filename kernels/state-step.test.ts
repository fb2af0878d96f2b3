import { describe, expect, it } from 'vitest';
import { RUNNING_MOMENTUM, stateLayout, stepLeavingState } from './state-step';

describe('an optimizer step that leaves the state', () => {
  const layout = { kept: [{ start: 0, end: 2 }], running: [{ start: 4, end: 6 }] };

  it('gives kept tensors their values back, moves running statistics by the rate, and steps the rest', () => {
    const params = Float32Array.of(1, 2, 3, 4, 10, 20);
    const update = Float32Array.of(9, 9, 1, 1, 2, -4);
    stepLeavingState(params, update, layout, RUNNING_MOMENTUM, () => {
      for (let i = 0; i < params.length; i++) params[i] -= 0.5 * update[i] + 1; // a step that touches every value
    });
    expect([...params]).toEqual([1, 2, 1.5, 2.5, 10.2, 19.6].map((v) => Math.fround(v)));
  });

  it("finds a layer list's running statistics and nothing kept", () => {
    const spec = { kind: 'layers' as const, input: [3], layers: [{ type: 'batchNorm' as const }, { type: 'dense' as const, units: 2 }] };
    expect(stateLayout(spec)).toEqual({
      kept: [],
      running: [
        { start: 6, end: 9 },
        { start: 9, end: 12 },
      ],
    });
  });
});
