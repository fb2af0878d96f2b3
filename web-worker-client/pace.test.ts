import { describe, expect, it } from 'vitest';
import { jobPace, throughput } from './pace';

describe('jobPace', () => {
  const job = { round: 10, totalRounds: 20, createdAt: 0, updatedAt: 10_000, spec: { globalBatch: 100 } };
  it('times a running job up to now, with the time left at that pace', () => {
    expect(jobPace({ ...job, state: 'running' }, 20_000)).toEqual({ rate: 50, eta: 20 });
  });
  it('times a finished job up to when it finished, however late it is asked', () => {
    for (const now of [20_000, 3_600_000]) expect(jobPace({ ...job, state: 'done', round: 20 }, now)).toEqual({ rate: 200, eta: undefined });
  });
  it('counts local steps per round', () => {
    expect(jobPace({ ...job, state: 'running', spec: { globalBatch: 100, local: { steps: 4 } } }, 10_000).rate).toBe(400);
  });

  it("reads the pace from the last rounds' timestamps when given: a queue or a pause before them does not count", () => {
    const recent = Array.from({ length: 30 }, (_, i) => ({ round: i + 1, at: 1_000_000 + i * 500 })); // 2 rounds a second
    const pace = jobPace({ ...job, state: 'running', round: 30, totalRounds: 50 }, 2_000_000, recent);
    expect(pace.rate).toBeCloseTo(2 * 100, 6); // globalBatch 100
    expect(pace.eta).toBeCloseTo(10, 6);
    expect(throughput({ ...job, state: 'done', round: 30 }, recent.slice(0, 3))).toEqual([
      { x: 2, y: 200 },
      { x: 3, y: 200 },
    ]);
  });
});
