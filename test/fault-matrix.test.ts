import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../kernels/cpu/backend';
import { expectHeld, faultMatrixRig, type Timing } from './fault-matrix-rig';
import { mlpJob } from './helpers';
import { HostileBackend, type Hostility } from './hostile-backend';

// Two honest workers (the operator's own) and hostile volunteers train the Fashion-MNIST MLP; each row of the matrix
// is one hostile behaviour, timing or majority. The job must finish within a point of the clean run (the honest
// workers alone, same spec), count nothing twice, and the store must show every hostile worker quarantined and no honest
// one. 150 rounds: by then a few results weighed differently move the accuracy by less than a point.
const ROUNDS = 150;
// The learning rate decays to zero (cosine): the last round's model is a settled one, not wherever momentum SGD's last
// steps landed, so a row's accuracy says what its hostile workers did (with a constant rate an honest volunteer's row
// ended anywhere from 1.2 points under to 1.6 over the clean run).
const SPEC = mlpJob({
  ...{ rounds: ROUNDS, globalBatch: 192, shardSize: 32, evalEvery: ROUNDS, evalSamples: 5000, checkpointEvery: 1000 },
  optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9, schedule: 'cosine' },
});

describe('fault matrix: one hostile worker among honest ones', () => {
  const { run } = faultMatrixRig();
  let clean = 0;

  it('clean run: the honest workers alone', async () => {
    // The operator's own results are combined as they are, in shard order: the same accuracy whoever computed what.
    clean = (await run([], SPEC)).accuracy;
    console.log(`clean: test accuracy ${(clean * 100).toFixed(2)}%`);
    expect(clean).toBeGreaterThan(0.7);
  }, 300_000);

  it('an honest volunteer beside them: spot-checked, weighed by the reference, never quarantined', async () => {
    const r = await run(new CpuBackend(), SPEC);
    const counted = r.results.filter((x) => x.worker_id === r.thirdId && x.accepted).length;
    console.log(
      `honest volunteer: test accuracy ${(r.accuracy * 100).toFixed(2)}% (clean ${(clean * 100).toFixed(2)}%), volunteer ${r.thirdWorker?.state}, ` +
        `reputation ${r.thirdWorker?.reputation.toFixed(3)}, results counted ${counted}`,
    );
    // Its results are weighed by the reference, not copied, so the trajectory differs from the clean run's: over
    // seven runs with the decaying rate it ended 0.14 to 0.98 points under (before, with a constant rate, 1.2 under
    // to 1.6 over). Held to 1.5, so the row does not fail CI on the spread itself; a harmful weighting costs more.
    expect(Math.abs(r.accuracy - clean)).toBeLessThan(0.015);
    expect(r.thirdWorker?.state).not.toBe('quarantined');
    expect(counted).toBeGreaterThan(0);
  }, 300_000);

  for (const how of ['scale', 'flip', 'replay', 'huge', 'nan'] satisfies Hostility[])
    it(`hostile worker: ${how}`, async () => {
      const r = await run(new HostileBackend(how), SPEC);
      const refused = r.results.filter((x) => x.worker_id === r.thirdId && !x.accepted).map((x) => x.reason);
      const counted = r.results.filter((x) => x.worker_id === r.thirdId && x.accepted).length;
      console.log(
        `${how}: test accuracy ${(r.accuracy * 100).toFixed(2)}% (clean ${(clean * 100).toFixed(2)}%), hostile ${r.thirdWorker?.state}, ` +
          `reputation ${r.thirdWorker?.reputation.toFixed(3)}, results counted ${counted}, refused ${refused.length} (${[...new Set(refused)].join(' ')})`,
      );
      expect(new Set(r.accepted).size).toBe(r.accepted.length); // nothing counted twice
      expect(r.accepted.length).toBe(ROUNDS * 6);
      expect(r.accuracy).toBeGreaterThan(clean - 0.01);
      expect(r.thirdWorker?.state).toBe('quarantined');
    }, 300_000);

  it('hostile worker: noise, without the root of trust caught only by redundant computation', async () => {
    // Gradient plus noise of twice its norm: positive cosine, norm within the outlier bounds. Half the shards are
    // computed again by a worker of another token; the noisy result is outvoted by a third worker.
    const untrusted = { ...SPEC, aggregation: { reference: 0 } };
    const unchecked = await run(new HostileBackend('noise'), untrusted);
    expect(unchecked.thirdWorker?.state).not.toBe('quarantined'); // the majority checks do not see it
    const r = await run(new HostileBackend('noise'), { ...untrusted, redundancy: { fraction: 0.5 } });
    const refused = r.results.filter((x) => x.worker_id === r.thirdId && !x.accepted).map((x) => x.reason);
    const byRound = new Map<string, number>();
    for (const k of r.accepted) byRound.set(k.split('/')[0], (byRound.get(k.split('/')[0]) ?? 0) + 1);
    console.log(
      `noise: test accuracy ${(r.accuracy * 100).toFixed(2)}% (clean ${(clean * 100).toFixed(2)}%), hostile ${r.thirdWorker?.state}, ` +
        `reputation ${r.thirdWorker?.reputation.toFixed(3)}, refused ${refused.length} (${[...new Set(refused)].join(' ')}), ` +
        `results accepted ${r.accepted.length} for ${ROUNDS * 6} shards`,
    );
    expect(new Set(r.accepted).size).toBe(r.accepted.length);
    expect(byRound.size).toBe(ROUNDS);
    for (const shards of byRound.values()) expect(shards).toBeGreaterThanOrEqual(6);
    expect(refused).toContain('MISMATCH');
    expect(r.accuracy).toBeGreaterThan(clean - 0.01);
    expect(r.thirdWorker?.state).toBe('quarantined');
  }, 300_000);
  // The timings and majorities that turned the majority rule against the honest (issue 18): hostile first and alone,
  // at the start, after honest rounds; the sybil rows outnumber the honest workers. Each result is judged against the
  // coordinator's own reference gradient, never against the other workers.
  const coalition = (n: number, how: Hostility) => () => {
    const shared: Float32Array[] = [];
    return Array.from({ length: n }, () => new HostileBackend(how, shared));
  };
  const median = { ...SPEC, aggregation: { rule: 'median' } };
  const rows: [string, () => CpuBackend[], Timing, object][] = [
    ['1 sign-flip, first and alone', coalition(1, 'flip'), 'first', SPEC],
    ['2 x1000, at the start', coalition(2, 'scale'), 'with', SPEC],
    ['4 sybils sign-flip, first, median rule', coalition(4, 'flip'), 'first', median],
    ['4 sybils ALIE, after 5 honest rounds', coalition(4, 'alie'), 'after', SPEC],
    ['2 ALIE, at the start, median rule', coalition(2, 'alie'), 'with', median],
    ['1 noise (twice its norm), at the start', coalition(1, 'noise'), 'with', SPEC],
  ];
  for (const [name, make, timing, spec] of rows)
    it(`hostile workers: ${name}`, async () => {
      expectHeld(name, await run(make(), spec, timing), clean, ROUNDS);
    }, 300_000);
});
