import { describe, expect, it } from 'vitest';
import { PerJob } from './per-job';

describe('per-job worker state', () => {
  it('keeps only the most recently used jobs, and replaces a value that no longer fits the job', () => {
    const state = new PerJob<Float32Array>(2);
    const a = state.get(
      1,
      () => true,
      () => new Float32Array(4),
    );
    state.get(
      2,
      () => true,
      () => new Float32Array(4),
    );
    expect(
      state.get(
        1,
        () => true,
        () => new Float32Array(4),
      ),
    ).toBe(a); // 1 is now the most recent
    state.get(
      3,
      () => true,
      () => new Float32Array(4),
    ); // 2 is the least recent: dropped
    expect(state.peek(2, () => true)).toBeUndefined();
    expect(state.peek(1, () => true)).toBe(a);
    const resized = state.get(
      1,
      (v) => v.length === 8,
      () => new Float32Array(8),
    ); // the job's model changed size
    expect(resized).not.toBe(a);
    expect(resized.length).toBe(8);
  });
});
