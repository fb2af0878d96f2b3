import { describe, expect, it } from 'vitest';
import { JobPace } from './job-pace';

describe('a job’s pace as a worker sees it', () => {
  it('has no ETA until the job moves, then extrapolates the pace since first seen; a new job starts afresh', () => {
    const pace = new JobPace();
    expect(pace.observe('a', { done: 10, total: 110 }, 0)).toEqual({ done: 10, total: 110 });
    expect(pace.observe('a', { done: 20, total: 110 }, 5000).etaS).toBeCloseTo(45); // 10 rounds in 5 s, 90 to go
    expect(pace.observe('b', { done: 3, total: 4 }, 6000)).toEqual({ done: 3, total: 4 });
  });
});
