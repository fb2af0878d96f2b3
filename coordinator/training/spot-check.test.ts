import { describe, expect, it } from 'vitest';
import type { Shard, ShardResult } from '../jobs/round';
import { TrustLedger } from '../jobs/trust-ledger';
import type { TrainingRun } from './job-run';
import type { Referee } from './referee';
import { SpotChecks } from './spot-check';

const honest = (cursor: number) => Float32Array.from({ length: 8 }, (_, i) => Math.sin(cursor + i));

/** A referee that recomputes the honest gradient of a shard (a function of its cursor) when told to, and records when it was asked. */
function fakeReferee() {
  const asked: { cursor: number; params: Float32Array }[] = [];
  const finish: (() => void)[] = [];
  const referee = {
    recompute: (_spec: unknown, params: Float32Array, shard: { cursor: number }) => {
      asked.push({ cursor: shard.cursor, params });
      return new Promise<Float32Array>((resolve) => finish.push(() => resolve(honest(shard.cursor))));
    },
  };
  return { referee: referee as unknown as Referee, asked, finishAll: () => finish.splice(0).forEach((f) => f()) };
}

function roundOf(results: { workerId: string; cursor: number; values: Float32Array }[]) {
  const shards = results.map((r, i) => ({
    index: i,
    cursor: r.cursor,
    count: 8,
    result: { workerId: r.workerId, assignmentId: 100 + i, values: r.values, rounding: 0 } as ShardResult,
  })) as unknown as Shard[];
  const published = Float32Array.from([1, 2, 3]);
  const spec = { aggregation: { clipNorm: 0 }, redundancy: { tolerance: 0.005 } };
  return { run: { round: { shards }, data: { spec, published } } as unknown as TrainingRun, shards, published };
}

describe('spot checks drawn on arrival', () => {
  it('start a result’s recomputation when it arrives, on a copy of its parameters, and the close only collects it', async () => {
    const { referee, asked, finishAll } = fakeReferee();
    const ledger = new TrustLedger();
    const checks = new SpotChecks(() => 0); // every draw checks
    const { run, shards, published } = roundOf([
      { workerId: 'honest', cursor: 0, values: honest(0) },
      { workerId: 'liar', cursor: 8, values: honest(8).map((x) => -x) },
    ]);
    for (const s of shards) checks.draw(run, s, s.result as ShardResult, referee, ledger);
    expect(asked.map((a) => a.cursor)).toEqual([0, 8]); // before the close: under way while the round goes on
    published.fill(9); // the close moves the parameters before a queued task may start: the draw holds its own copy
    expect([...asked[0].params]).toEqual([1, 2, 3]);
    const collected = checks.collect(run, { referee, ledger, trusted: () => false, store: undefined as never });
    finishAll();
    expect([...(await collected)]).toEqual(['liar']);
    expect(asked.length).toBe(2); // not computed again at the close
    expect(ledger.wasChecked(100) && ledger.wasChecked(101)).toBe(true);
  });

  it('draw at the close for a result that arrived without a draw, and skip the operator’s own and the undrawn', async () => {
    const { referee, asked, finishAll } = fakeReferee();
    const ledger = new TrustLedger();
    ledger.checked(1, 'lucky', true); // a verified result: checked at 90% from now on, no longer always
    let draws = 0;
    const checks = new SpotChecks(() => (draws++ === 0 ? 0.99 : 0)); // the arrival's draw misses, the close's hits
    const { run, shards } = roundOf([
      { workerId: 'lucky', cursor: 0, values: honest(0).map((x) => -x) },
      { workerId: 'late', cursor: 8, values: honest(8).map((x) => -x) },
      { workerId: 'operator', cursor: 16, values: honest(16).map((x) => -x) },
    ]);
    checks.draw(run, shards[0], shards[0].result as ShardResult, referee, ledger);
    expect(asked.length).toBe(0);
    const collected = checks.collect(run, { referee, ledger, trusted: (id) => id === 'operator', store: undefined as never });
    await new Promise((r) => setTimeout(r, 0));
    finishAll();
    expect([...(await collected)]).toEqual(['late']); // a lie not drawn passes this round: the draw is the bound
    expect(asked.map((a) => a.cursor)).toEqual([8]);
  });
});
