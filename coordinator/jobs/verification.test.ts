import { describe, expect, it } from 'vitest';
import { decodeFrame, decodeTensor, encodeTensor } from '../../protocol/frames';
import { parseTrainingSpec } from '../../protocol/job';
import { planRound } from '../training/round-plan';
import { agree, encodingError, verdict } from './redundancy';
import { type Round, roundComplete, type ShardResult } from './round';
import { credited, recheck, settle, verifyRound, waive } from './verification';

const N = 1000;
const gradient = (seed: number, scale = 1) => Float32Array.from({ length: N }, (_, i) => scale * Math.sin(seed * 7.1 + i * 0.37));
const computed = (values: Float32Array, rounding = 0) => ({ values, rounding });
const spec = (fraction: number) =>
  parseTrainingSpec({
    name: 't',
    model: { kind: 'mlp', layers: [3, 4, 2] },
    dataset: { name: 'd' },
    optimizer: { kind: 'sgd', lr: 0.1 },
    globalBatch: 16,
    shardSize: 8,
    rounds: 1,
    redundancy: { fraction },
  });
const result = (workerId: string, values: Float32Array, id = 1): ShardResult => ({
  ...{ workerId, tokenId: Number(workerId.slice(1)), assignmentId: id, values, rounding: 0 },
  ...{ norm: 0, samples: 8, loss: 1, correct: 4 },
});

describe('redundant computations agree', () => {
  it('within the tolerance, whatever order engines summed in, and not a scaled or perturbed result', () => {
    const g = gradient(1);
    const resummed = g.map((x) => x * (1 + 1e-6));
    expect(agree(computed(g), computed(resummed), 1e-4)).toBe(true);
    expect(agree(computed(g), computed(g.map((x) => x * 0.9)), 0.005)).toBe(false);
    const noise = gradient(2, 0.05);
    expect(agree(computed(g), computed(g.map((x, i) => x + noise[i])), 0.005)).toBe(false);
  });

  it('allows exactly what an int8 or f16 encoding rounds away', () => {
    const g = gradient(3);
    for (const dtype of ['int8', 'f16'] as const) {
      const frame = decodeFrame(encodeTensor({ kind: 'gradient', job: 1, round: 0, shard: 0 }, g, dtype));
      const decoded = decodeTensor(frame);
      const rounding = encodingError(frame, decoded);
      expect(rounding).toBeGreaterThan(0);
      expect(agree(computed(g), computed(decoded, rounding), 0)).toBe(true); // the bound holds
      expect(agree(computed(g), computed(decoded), 0)).toBe(false); // and is needed
    }
  });

  it('gives a verdict: pending, verified, tiebreak, outvoted, undecided', () => {
    const [a, b, c] = [gradient(1), gradient(2), gradient(3)];
    expect(verdict([computed(a)], 2, 0.005).kind).toBe('pending');
    expect(verdict([computed(a), computed(a.slice())], 2, 0.005).kind).toBe('verified');
    expect(verdict([computed(a), computed(b)], 2, 0.005).kind).toBe('tiebreak');
    expect(verdict([computed(a), computed(b), computed(a.slice())], 3, 0.005)).toEqual({ kind: 'resolved', outvoted: [1] });
    expect(verdict([computed(a), computed(b), computed(c)], 3, 0.005).kind).toBe('undecided');
  });
});

describe('settling a shard and its copies', () => {
  const withCopy = (): Round => {
    const r = planRound(spec(0.5), 0, 0, () => 0.9); // nothing sampled...
    r.shards.push({ ...r.shards[0], index: r.shards.length, copyOf: 0 }); // ...then shard 0 checked
    return r;
  };

  it('samples the job fraction of shards for a copy, with the same samples', () => {
    const draws = [0.7, 0.2];
    const r = planRound(spec(0.5), 0, 0, () => draws.shift() ?? 1);
    expect(r.shards).toHaveLength(3);
    expect(r.shards[2]).toMatchObject({ copyOf: 1, cursor: r.shards[1].cursor, count: r.shards[1].count });
    expect(planRound(spec(0), 0, 0, () => 0).shards).toHaveLength(2);
  });

  it('closes the round once both agree, and credits both workers', () => {
    const r = withCopy();
    r.shards[0].result = result('w1', gradient(1));
    r.shards[1].result = result('w3', gradient(5));
    expect(roundComplete(r)).toBe(false);
    r.shards[2].result = result(
      'w2',
      gradient(1).map((x) => x * (1 + 1e-6)),
    );
    expect(settle(r, r.shards[2], 0.005)).toEqual({ outvoted: [], dropped: [] });
    expect(roundComplete(r)).toBe(true);
    expect(credited(r).sort()).toEqual(['w1', 'w2', 'w3']);
  });

  it('asks a third worker on a mismatch, and puts the outvoted result out, in the shard or in the copy', () => {
    for (const liar of [0, 2]) {
      const r = withCopy();
      r.shards[1].result = result('w3', gradient(5));
      r.shards[0].result = result('w1', liar === 0 ? gradient(9) : gradient(1), 11);
      r.shards[2].result = result('w2', liar === 2 ? gradient(9) : gradient(1), 12);
      settle(r, r.shards[2], 0.005);
      expect(r.shards).toHaveLength(4);
      expect(r.shards[3]).toMatchObject({ copyOf: 0 });
      expect(roundComplete(r)).toBe(false);
      r.shards[3].result = result('w4', gradient(1), 13);
      const s = settle(r, r.shards[3], 0.005);
      expect(s.outvoted.map((x) => x.assignmentId)).toEqual([liar === 0 ? 11 : 12]);
      expect(roundComplete(r)).toBe(true);
      expect(r.shards[0].result?.values).toEqual(gradient(1)); // the round combines an agreed result
      expect(credited(r)).not.toContain(liar === 0 ? 'w1' : 'w2');
    }
  });

  it('leaves a mismatch of a refereed kind to the coordinator: disputed, no third vote, nobody outvoted', () => {
    const r = withCopy();
    r.shards[1].result = result('w3', gradient(5));
    r.shards[0].result = result('w1', gradient(1), 11);
    r.shards[2].result = result('w2', gradient(9), 12);
    expect(settle(r, r.shards[2], 0.005, true)).toEqual({ outvoted: [], dropped: [] });
    expect(r.shards).toHaveLength(3);
    expect(r.shards[0].disputed).toBe(true);
    expect(roundComplete(r)).toBe(true); // the close decides, by recomputing
  });

  it('drops every result when three disagree, or when nobody is left to break a tie', () => {
    const r = withCopy();
    r.shards[0].result = result('w1', gradient(1));
    r.shards[2].result = result('w2', gradient(2));
    settle(r, r.shards[2], 0.005);
    const s = waive(r, r.shards[3], 0.005);
    expect(s.dropped.map((x) => x.workerId)).toEqual(['w1', 'w2']);
    expect(r.shards[0].result).toBeUndefined();
    expect(r.shards[0].refusedBy).toEqual(new Set(['w1', 'w2']));
    expect(r.shards.slice(2).every((x) => x.waived)).toBe(true);
  });

  it('waives a copy nobody connected may compute, once its shard is under way', () => {
    const r = withCopy();
    expect(verifyRound(r, undefined, 0.005, () => false)).toEqual({ outvoted: [], dropped: [] });
    expect(r.shards[2].waived).toBeUndefined(); // the shard is not leased yet: who will compute it is open
    r.shards[0].lease = { workerId: 'w1', tokenId: 1 };
    verifyRound(r, undefined, 0.005, () => true);
    expect(r.shards[2].waived).toBeUndefined();
    verifyRound(r, undefined, 0.005, () => false);
    expect(r.shards[2].waived).toBe(true);
  });

  it("checks an outvoted worker's other standing results again, once each", () => {
    const r = withCopy();
    r.shards[0].result = result('w1', gradient(1));
    r.shards[1].result = result('w1', gradient(2));
    expect(recheck(r, 'w1')).toBe(1); // shard 0 has a copy already; shard 1 gets one
    expect(r.shards.at(-1)).toMatchObject({ copyOf: 1, cursor: r.shards[1].cursor, count: r.shards[1].count });
    expect(recheck(r, 'w1')).toBe(0);
    expect(recheck(r, 'w2')).toBe(0);
    expect(roundComplete(r)).toBe(false);
  });
});
