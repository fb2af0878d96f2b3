import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeTensor } from '../../protocol/frames';
import { parseTrainingSpec } from '../../protocol/job';
import { LeaseTable } from '../jobs/leases';
import { nextReputation, QUARANTINE_BELOW } from '../jobs/reputation';
import { roundComplete } from '../jobs/round';
import type { TrainingRun } from './job-run';
import { outliers } from './outliers';
import { ReplayGuard } from './replay-guard';
import { checkResult, checkTrainingResult, MAX_LOSS } from './result-check';
import { planRound, roundStats } from './round-plan';
import { vectorStats } from './simd.mjs';

const spec = (over: Record<string, unknown> = {}) =>
  parseTrainingSpec({
    name: 'j',
    model: { kind: 'mlp', layers: [3, 2] },
    dataset: { name: 'd' },
    optimizer: { kind: 'sgd', lr: 0.1 },
    globalBatch: 10,
    shardSize: 4,
    rounds: 5,
    ...over,
  });
const N = 3 * 2 + 2;

describe('round arithmetic', () => {
  it('cuts the global batch into shards, the last one short, each continuing the sample stream', () => {
    const r = planRound(spec(), 3, 1000);
    expect(r.shards.map((s) => [s.cursor, s.count])).toEqual([
      [1000, 4],
      [1004, 4],
      [1008, 2],
    ]);
    const local = planRound(spec({ mode: 'local', local: { steps: 3, lr: 0.01 } }), 0, 0);
    expect(local.shards.map((s) => [s.cursor, s.count])).toEqual([
      [0, 12],
      [12, 12],
      [24, 6],
    ]);
  });

  it('is complete only with every result, and weighs loss by samples', () => {
    const r = planRound(spec({ globalBatch: 8 }), 0, 0);
    expect(roundComplete(r)).toBe(false);
    r.shards[0].result = { workerId: 'a', tokenId: 1, rounding: 0, assignmentId: 1, values: new Float32Array(N), norm: 0, samples: 4, loss: 1, correct: 1 };
    expect(roundComplete(r)).toBe(false);
    r.shards[1].result = { workerId: 'b', tokenId: 2, rounding: 0, assignmentId: 2, values: new Float32Array(N), norm: 0, samples: 4, loss: 3, correct: 3 };
    expect(roundComplete(r)).toBe(true);
    expect(roundStats(r)).toEqual({ samples: 8, loss: 2, accuracy: 0.5 });
  });
});

describe('result check', () => {
  const shard = planRound(spec(), 0, 0).shards[0];
  const frame = (values: Float32Array, kind: 'gradient' | 'delta' = 'gradient') =>
    decodeFrame(encodeTensor({ kind, job: 1, round: 0, shard: 0 }, values, 'f32'));
  const meta = (over: Record<string, number> = {}) => ({
    type: 'result' as const,
    assignmentId: 1,
    paramsVersion: 0,
    samples: 4,
    loss: 0.5,
    correct: 2,
    ...over,
  });
  const refusal = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as { code: string }).code;
    }
    return 'accepted';
  };

  it('accepts a good result and reports its norm', () => {
    const r = checkResult(spec(), shard, N, meta(), frame(new Float32Array(N).fill(0.5)), 0);
    expect(r.norm).toBeCloseTo(Math.sqrt(N * 0.25));
  });

  it('refuses each kind of bad result with its code', () => {
    const ok = new Float32Array(N).fill(0.1);
    const nan = ok.slice();
    nan[3] = Number.NaN;
    expect(refusal(() => checkResult(spec(), shard, N, meta(), frame(ok, 'delta'), 0))).toBe('BAD_FRAME');
    expect(refusal(() => checkResult(spec(), shard, N, meta(), frame(new Float32Array(N + 1)), 0))).toBe('WRONG_SIZE');
    expect(refusal(() => checkResult(spec(), shard, N, meta({ samples: 3 }), frame(ok), 0))).toBe('BAD_MESSAGE');
    expect(refusal(() => checkResult(spec(), shard, N, meta({ loss: MAX_LOSS * 2 }), frame(ok), 0))).toBe('BAD_MESSAGE');
    expect(refusal(() => checkResult(spec(), shard, N, meta({ loss: -1 }), frame(ok), 0))).toBe('BAD_MESSAGE');
    expect(refusal(() => checkResult(spec(), shard, N, meta({ correct: 5 }), frame(ok), 0))).toBe('BAD_MESSAGE');
    expect(refusal(() => checkResult(spec(), shard, N, meta(), frame(nan), 0))).toBe('NON_FINITE');
    expect(refusal(() => checkResult(spec({ aggregation: { maxNorm: 0.1 } }), shard, N, meta(), frame(ok), 0))).toBe('NORM_TOO_LARGE');
  });

  it("holds volunteers to 10x the last round's median norm, not the operator's own workers (a loss spike is not a lie)", () => {
    const run = { data: { spec: spec(), params: new Float32Array(N), replays: new ReplayGuard(), normLimit: 0.1 }, round: { index: 0 } };
    const big = () => frame(new Float32Array(N).fill(1));
    const check = (trusted: boolean) => () => checkTrainingResult(run as unknown as TrainingRun, shard, meta(), big(), 0, trusted);
    expect(refusal(check(false))).toBe('NORM_TOO_LARGE');
    expect(refusal(check(true))).toBe('accepted');
  });

  it('uses an f32 result that arrived in shared memory where it lies, and decodes any other into shared memory', () => {
    const values = Float32Array.from({ length: N }, (_, i) => i / 4);
    const plain = encodeTensor({ kind: 'gradient', job: 1, round: 0, shard: 0 }, values, 'f32');
    const shared = new Uint8Array(new SharedArrayBuffer(plain.byteLength));
    shared.set(plain);
    const inPlace = checkResult(spec(), shard, N, meta(), decodeFrame(shared), 0).values;
    expect([inPlace.buffer, inPlace.byteOffset]).toEqual([shared.buffer, 32]);
    expect(Array.from(inPlace)).toEqual(Array.from(values));
    for (const copied of [
      checkResult(spec(), shard, N, meta(), decodeFrame(plain), 0).values,
      checkResult(spec(), shard, N, meta(), decodeFrame(encodeTensor({ kind: 'gradient', job: 1, round: 0, shard: 0 }, values, 'f16')), 0).values,
    ]) {
      expect(copied.buffer).toBeInstanceOf(SharedArrayBuffer); // the aggregation threads read it in place
      expect(copied.buffer).not.toBe(shared.buffer);
      expect(Array.from(copied)).toEqual(Array.from(values));
    }
  });

  it('clips to clipNorm when the job asks', () => {
    const r = checkResult(spec({ aggregation: { clipNorm: 1 } }), shard, N, meta(), frame(new Float32Array(N).fill(10)), 0);
    expect(r.norm).toBeCloseTo(10 * Math.sqrt(N), 4);
    expect(Math.hypot(...r.values)).toBeCloseTo(1, 5);
  });
});

describe('lease table', () => {
  const lease = (id: number, round: number, until: number) => ({
    assignmentId: id,
    jobId: 1,
    round,
    shard: id,
    workerId: 'w',
    paramsVersion: round,
    since: 0,
    until,
    live: true,
  });

  it('reports overdue leases by the injected clock and ends each lease once', () => {
    const t = new LeaseTable();
    t.add(lease(1, 0, 1_000));
    t.add(lease(2, 0, 5_000));
    expect(t.overdue(999)).toEqual([]);
    expect(t.overdue(1_001).map((l) => l.assignmentId)).toEqual([1]);
    expect(t.end(1)?.assignmentId).toBe(1);
    expect(t.end(1)).toBeUndefined();
    expect(t.overdue(10_000).map((l) => l.assignmentId)).toEqual([2]);
  });

  it('keeps ended leases of the current and previous round only, so its size stays bounded', () => {
    const t = new LeaseTable();
    for (let round = 0; round < 100; round++) {
      for (let s = 0; s < 4; s++) {
        t.add(lease(round * 4 + s + 1, round, 0));
        t.end(round * 4 + s + 1);
      }
      t.prune(1, round + 1); // round closed: round + 1 is current
    }
    expect(t.size).toBe(4);
    expect(t.get(400)?.live).toBe(false); // a late result for the last round is still recognised as stale
    t.prune(1);
    expect(t.size).toBe(0);
  });
});

describe('replay guard', () => {
  it('recognises a payload first received for another shard, for a bounded number of rounds', () => {
    const g = new ReplayGuard(2);
    const a = vectorStats(Float32Array.of(1, 2, 3)).fingerprint;
    expect(g.replayOf(a, { round: 0, shard: 0 })).toBeUndefined();
    expect(g.replayOf(vectorStats(Float32Array.of(1, 2, 4)).fingerprint, { round: 0, shard: 1 })).toBeUndefined();
    expect(g.replayOf(a, { round: 1, shard: 0 })).toEqual({ round: 0, shard: 0 });
    expect(g.replayOf(a, { round: 0, shard: 2 })).toEqual({ round: 0, shard: 0 });
    g.prune(3);
    expect(g.size).toBe(0);
    expect(g.replayOf(a, { round: 3, shard: 0 })).toBeUndefined();
  });

  it('does not call the same shard computed again to the same bytes a replay', () => {
    const g = new ReplayGuard();
    const a = vectorStats(Float32Array.of(5, 6, 7)).fingerprint;
    expect(g.replayOf(a, { round: 4, shard: 1 })).toBeUndefined();
    expect(g.replayOf(a, { round: 4, shard: 1 })).toBeUndefined(); // a lapsed lease redone elsewhere
  });
});

describe('reputation', () => {
  it('quarantines after three strikes, and forgives an honest worker its rare outlier', () => {
    let r = 1;
    for (let i = 0; i < 3; i++) r = nextReputation(r, 'bad');
    expect(r).toBeLessThan(QUARANTINE_BELOW);
    r = nextReputation(nextReputation(1, 'bad'), 'bad');
    for (let i = 0; i < 20; i++) r = nextReputation(r, 'good');
    expect(nextReputation(r, 'bad')).toBeGreaterThan(QUARANTINE_BELOW * 2);
  });

  it('flags a flipped and a scaled contribution against the workers; of two, only one far larger than the other', () => {
    const base = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i));
    const jitter = (k: number) => base.map((v, i) => v + 0.1 * Math.cos(i * k));
    const votes = (x: Float32Array) =>
      new Map([
        ['a', { values: jitter(1), samples: 1 }],
        ['b', { values: jitter(2), samples: 1 }],
        ['x', { values: x, samples: 1 }],
      ]);
    expect([...outliers(votes(jitter(3)))]).toEqual([]);
    expect([...outliers(votes(base.map((v) => -v)))]).toEqual(['x']);
    expect([...outliers(votes(base.map((v) => v * 1000)))]).toEqual(['x']);
    expect([...outliers(new Map([...votes(base.map((v) => -v))].slice(1)))]).toEqual([]);
    // Two voters (a job's first round, before the third worker joins): no majority for direction, but a gradient
    // scaled a thousandfold is set aside rather than stepped on.
    expect([...outliers(new Map([...votes(base.map((v) => v * 1000))].slice(1)))]).toEqual(['x']);
    expect([...outliers(new Map([...votes(jitter(3))].slice(1)))]).toEqual([]);
    expect([...outliers(new Map([...votes(jitter(3))].slice(2)))]).toEqual([]);
    // A worker that computed 1 sample against the other's 100 may be 10x noisier (shards sized by rate).
    const small = { values: base.map((v) => v * 8), samples: 1 };
    expect([
      ...outliers(
        new Map([
          ['small', small],
          ['big', { values: base, samples: 100 }],
        ]),
      ),
    ]).toEqual([]);
  });
});
