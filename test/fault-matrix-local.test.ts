import { describe, expect, it } from 'vitest';
import { expectHeld, faultMatrixRig, type Timing } from './fault-matrix-rig';
import { mlpJob } from './helpers';
import { hostileLocalEngine } from './hostile-backend';

// The fault matrix for local-step jobs (volunteer mode: each result the delta of 4 AdamW steps). The coordinator's
// reference is its own 4 local steps over 128 samples each; hostile volunteers turn their deltas against the model or
// scale them, a majority of identities among them. As in the synchronous matrix: within a point of the clean run,
// nothing counted twice, every hostile identity quarantined and no honest one.
// 60 rounds: a sybil flipping local deltas can take about 17 results before the direction rule is confident (CI once
// ended the 40-round run with 2 of 4 still standing).
const ROUNDS = 60;
const SPEC = {
  ...mlpJob({ mode: 'local', rounds: ROUNDS, globalBatch: 192, shardSize: 32, evalEvery: ROUNDS, evalSamples: 5000, checkpointEvery: 1000 }),
  local: { steps: 4, lr: 0.002 },
};

describe('fault matrix, local steps: hostile deltas among honest workers', () => {
  const { run } = faultMatrixRig();
  let clean = 0;

  it('clean run: the honest workers alone', async () => {
    clean = (await run([], SPEC)).accuracy;
    console.log(`local clean: test accuracy ${(clean * 100).toFixed(2)}%`);
    expect(clean).toBeGreaterThan(0.7);
  }, 300_000);

  const rows: [string, () => ReturnType<typeof hostileLocalEngine>[], Timing][] = [
    ['4 sybils flipping their deltas, first and alone', () => Array.from({ length: 4 }, () => hostileLocalEngine('flip')), 'first'],
    ['2 deltas x1000, at the start', () => Array.from({ length: 2 }, () => hostileLocalEngine('scale')), 'with'],
    ['4 sybils flipping their deltas, after 5 honest rounds', () => Array.from({ length: 4 }, () => hostileLocalEngine('flip')), 'after'],
  ];
  for (const [name, make, timing] of rows)
    it(`hostile workers: ${name}`, async () => {
      expectHeld(`local, ${name}`, await run(make(), SPEC, timing), clean, ROUNDS);
    }, 300_000);
});
