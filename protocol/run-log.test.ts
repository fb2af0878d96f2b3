import { describe, expect, it } from 'vitest';
import { runLog } from './run-log';

describe("a run's log", () => {
  it('puts the submission, each evaluation on one line, refusals and the end in time order, newest first', () => {
    const job = { createdAt: 1000, updatedAt: 9000, state: 'done', error: null, round: 20 };
    const metrics = [
      { round: 10, name: 'train_loss', value: 0.9, at: 5000 },
      { round: 10, name: 'test_loss', value: 0.71234, at: 5100 },
      { round: 10, name: 'test_accuracy', value: 0.8, at: 5100 },
    ];
    const refusals = [{ createdAt: 3000, round: 4, shard: 2, reason: 'NORM_TOO_LARGE', workerId: 'abcdef0123456789' }];
    expect(runLog(job, metrics, refusals).map((l) => `${l.at} ${l.kind} ${l.text}`)).toEqual([
      '9000 job done at round 20',
      '5100 evaluation round 10: test_loss 0.7123, test_accuracy 0.8',
      '3000 refusal round 4 shard 2 from abcdef01 refused: NORM_TOO_LARGE',
      '1000 job submitted',
    ]);
  });
  it('says why a run failed, and has no end while it runs', () => {
    expect(runLog({ createdAt: 1, updatedAt: 2, state: 'failed', error: 'no result accepted for 20 rounds', round: 3 }, [], [])[0].text).toBe(
      'failed at round 3: no result accepted for 20 rounds',
    );
    expect(runLog({ createdAt: 1, updatedAt: 2, state: 'running', error: null, round: 3 }, [], []).length).toBe(1);
  });
});
