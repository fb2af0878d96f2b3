import { describe, expect, it } from 'vitest';
import { jobPace } from './pace';

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
});
