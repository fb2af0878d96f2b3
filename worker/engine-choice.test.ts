import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../kernels/cpu/backend';
import { type Engine, kernelsEngine } from '../kernels/engine';
import { EngineChooser, measure, REFERENCE_MODEL, rateKey } from './engine-choice';
import { memoryCache } from './host';
import { MODEL } from './testing.fixtures';

/** The CPU engine under another name, `delayMs` slower per step, counting its builds; or one that cannot build. */
function engine(name: string, delayMs: number, broken = false) {
  const cpu = kernelsEngine(new CpuBackend());
  const e = {
    name,
    adapter: 'test',
    builds: 0,
    supports: () => true,
    async build(spec) {
      e.builds++;
      if (broken) throw new Error('no such provider here');
      const model = await cpu.build(spec);
      const step = model.lossAndGradients.bind(model);
      model.lossAndGradients = async (p, b) => {
        await new Promise((r) => setTimeout(r, delayMs));
        return step(p, b);
      };
      return model;
    },
  } satisfies Engine & { builds: number };
  return e;
}

/** The CPU engine on a scripted clock: each step advances it by `cost(samples, call)` milliseconds. */
function clockedEngine(name: string, cost: (samples: number, call: number) => number) {
  const cpu = kernelsEngine(new CpuBackend());
  const clock = { now: 0, batches: [] as number[] };
  const e: Engine = {
    ...cpu,
    name,
    async build(spec) {
      const model = await cpu.build(spec);
      const step = model.lossAndGradients.bind(model);
      model.lossAndGradients = async (p, b) => {
        clock.now += cost(b.y.length, clock.batches.length);
        clock.batches.push(b.y.length);
        return step(p, b);
      };
      return model;
    },
  };
  return { engine: e, clock };
}

describe('engine choice by measurement', () => {
  it('runs a model on the fastest engine, leaves out one that fails, and remembers the rates across restarts', async () => {
    const [slow, fast, broken] = [engine('slow', 20), engine('fast', 0), engine('broken', 0, true)];
    const cache = memoryCache();
    const chooser = new EngineChooser([slow, broken, fast], cache, 60);
    const { rates } = await chooser.model(MODEL);
    expect(rates.map((r) => r.engine)).toEqual(['fast', 'slow']);
    expect(rates[0].samplesPerSec).toBeGreaterThan(rates[1].samplesPerSec);
    const builds = slow.builds + fast.builds;
    // A restart with the same cache: nothing is timed again, only the chosen engine builds the model.
    const again = await new EngineChooser([slow, broken, fast], cache, 60).model(MODEL);
    expect(again.rates).toEqual(rates);
    expect(slow.builds + fast.builds).toBe(builds + 1);
  });

  it('reports an engine slower than a sample a second by two digits, not as 0 (unmeasured)', async () => {
    const [crawl, fast] = [engine('crawl', 2500), engine('fast', 0)];
    const { rates } = await new EngineChooser([crawl, fast], memoryCache(), 60).model(MODEL);
    const slow = rates.find((r) => r.engine === 'crawl');
    expect(slow?.samplesPerSec).toBeGreaterThan(0.2);
    expect(slow?.samplesPerSec).toBeLessThan(1);
    expect(Number.isInteger(rates.find((r) => r.engine === 'fast')?.samplesPerSec)).toBe(true);
  }, 30_000);

  it('does not time an engine twenty times behind the fastest on the reference model: it is rated by that ratio', async () => {
    const [fast, crawl, near] = [engine('fast', 0), engine('crawl', 50), engine('near', 10)]; // near is timed and loses: built once
    const cache = memoryCache();
    const onReference = { fast: 50_000, crawl: 1_000, near: 5_000 }; // as the worker timed them at its start
    for (const [name, rate] of Object.entries(onReference))
      await cache.put(rateKey({ name, adapter: 'test' }, REFERENCE_MODEL), new TextEncoder().encode(String(rate)));
    const { rates } = await new EngineChooser([crawl, near, fast], cache, 60).model(MODEL);
    expect(crawl.builds).toBe(0); // 50x behind: never built, never stepped
    expect(near.builds).toBe(1); // 10x behind: timed
    const rateOf = (name: string) => rates.find((r) => r.engine === name)?.samplesPerSec ?? Number.NaN;
    expect(rates[0].engine).toBe('fast');
    expect(rateOf('crawl')).toBeCloseTo(rateOf('fast') / 50, -1);
  });

  it('rates an engine far too slow for the model by one sample, without a full batch', async () => {
    const { engine: slow, clock } = clockedEngine('slow', (samples) => 1000 * samples); // a second a sample
    expect(await measure(slow, MODEL, 300, 256, () => clock.now)).toBe(1);
    expect(clock.batches).toEqual([1, 1]); // a warm-up and one timed sample; no batch of 256
  });

  it('does not rate a GPU engine by its warm-up, which compiles every pipeline', async () => {
    // 5 s of compiling once, then a millisecond a sample.
    const { engine: compiling, clock } = clockedEngine('compiling', (samples, call) => (call === 0 ? 5000 : samples));
    expect(await measure(compiling, MODEL, 300, 64, () => clock.now)).toBeCloseTo(1000, -1);
  });
});
