import type { Engine, TrainableModel } from '../kernels/engine';
import { initParams } from '../kernels/models/index';
import { sampleBatch } from '../kernels/models/sample-batch';
import type { ModelSpec } from '../protocol/model';
import type { ByteCache } from './host';

/** One engine's measured training speed on one model. */
export interface EngineRate {
  engine: string;
  adapter: string;
  samplesPerSec: number;
}

/** The model every worker measures at start, for its capabilities: the Fashion-MNIST MLP. */
export const REFERENCE_MODEL: ModelSpec = { kind: 'mlp', layers: [784, 256, 128, 10] };

/** Training steps of `engine` on `spec` for about `ms` after a warm-up step (compiling, allocating); samples/s. */
export async function measure(engine: Engine, spec: ModelSpec, ms: number, size = 256, now = () => performance.now()): Promise<number> {
  const model = await engine.build(spec);
  try {
    const params = initParams(spec, 1);
    // One sample first (after a warm-up): an engine far too slow for this model (the CPU reference on a GPT takes
    // 1.4 s a sample here) is not held for minutes, its worker's heartbeats unanswered, on full batches.
    const one = sampleBatch(spec, 1);
    // The warm-up is not a measure: on a GPU engine it compiles every pipeline (6.6 s of a GPT's on SwiftShader).
    await model.lossAndGradients(params, one);
    const t0 = now();
    await model.lossAndGradients(params, one);
    const single = Math.max(now() - t0, 1e-3);
    // An engine slow on this model is timed on batches it gets through in the measuring time, down to that one sample.
    size = Math.min(size, Math.floor(ms / single));
    if (size <= 1) return 1000 / single;
    const batch = sampleBatch(spec, size);
    await model.lossAndGradients(params, batch);
    let samples = 0;
    const start = now();
    do {
      await model.lossAndGradients(params, batch);
      samples += size;
    } while (samples < 2 * size || now() - start < ms);
    return samples / ((now() - start) / 1000);
  } finally {
    model.dispose();
  }
}

const specKey = (spec: ModelSpec) => JSON.stringify(spec);
/** Where an engine's rate on a model is kept in the host's cache. */
export const rateKey = (engine: Pick<Engine, 'name' | 'adapter'>, spec: ModelSpec) => `engine-rate:${engine.name}:${engine.adapter}:${specKey(spec)}`;

/**
 * An engine this many times slower than the fastest on the reference model (timed at the worker's start) is not timed
 * on other models: it would not win, and one step of it on a large model takes long (the CPU reference's warm-up
 * sample of a 10.7M GPT took about 47 s). It is rated by the fastest one's rate on the model, scaled by that ratio.
 */
const NOT_WORTH_TIMING = 20;

/**
 * Runs each model on the fastest engine this machine has, by measurement: every engine that supports the model is
 * timed once per (engine, adapter, model), and the rates are remembered in the host's cache across restarts. An
 * engine that fails to build or run is left out, so a broken provider costs a measurement, not the worker.
 */
export class EngineChooser {
  private readonly built = new Map<string, Promise<{ model: TrainableModel; rates: EngineRate[] }>>();

  constructor(
    private readonly engines: Engine[],
    private readonly cache: ByteCache,
    private readonly measureMs = 2000,
  ) {}

  private async cachedRate(engine: Engine, spec: ModelSpec): Promise<number> {
    const cached = await this.cache.get(rateKey(engine, spec));
    return cached ? Number(new TextDecoder().decode(cached)) : Number.NaN;
  }

  /** Rates of every usable engine on `spec`, fastest first. */
  async rank(spec: ModelSpec): Promise<EngineRate[]> {
    const rates: EngineRate[] = [];
    const usable = this.engines.filter((e) => e.supports(spec));
    // Fastest on the reference model first, so an engine far behind it need not be timed (NOT_WORTH_TIMING).
    const onReference = new Map(await Promise.all(usable.map(async (e) => [e, await this.cachedRate(e, REFERENCE_MODEL)] as const)));
    const order = [...usable].sort((a, b) => (onReference.get(b) || 0) - (onReference.get(a) || 0));
    let fastest: { reference: number; rate: number } | undefined;
    for (const engine of order) {
      let samplesPerSec = await this.cachedRate(engine, spec);
      const reference = onReference.get(engine) || 0;
      if (!Number.isFinite(samplesPerSec) && fastest && reference > 0 && fastest.reference / reference > NOT_WORTH_TIMING)
        samplesPerSec = (fastest.rate * reference) / fastest.reference;
      if (!Number.isFinite(samplesPerSec)) {
        if (this.engines.length === 1)
          samplesPerSec = 0; // nothing to choose between: do not spend the time
        else {
          samplesPerSec = await measure(engine, spec, this.measureMs).catch(() => -1);
          await this.cache.put(rateKey(engine, spec), new TextEncoder().encode(String(samplesPerSec)));
        }
      }
      // Whole samples/s, except below one, where two digits keep a slow engine from reading as unmeasured (0).
      const rate = samplesPerSec >= 1 ? Math.round(samplesPerSec) : Number(samplesPerSec.toPrecision(2));
      if (samplesPerSec >= 0) rates.push({ engine: engine.name, adapter: engine.adapter, samplesPerSec: rate });
      if (samplesPerSec > 0 && reference > 0 && !fastest) fastest = { reference, rate: samplesPerSec };
    }
    return rates.sort((a, b) => b.samplesPerSec - a.samplesPerSec);
  }

  /** The model built on the fastest engine for it (built once per spec; the previous spec's model is disposed). */
  model(spec: ModelSpec): Promise<{ model: TrainableModel; rates: EngineRate[] }> {
    const key = specKey(spec);
    let entry = this.built.get(key);
    if (!entry) {
      for (const old of this.built.values())
        void old.then(
          (o) => o.model.dispose(),
          () => {},
        );
      this.built.clear();
      entry = this.rank(spec).then(async (rates) => {
        const best = this.engines.find((e) => e.name === rates[0]?.engine);
        if (!best) throw new Error('no engine could run this model');
        return { model: await best.build(spec), rates };
      });
      entry.catch(() => this.built.delete(key));
      this.built.set(key, entry);
    }
    return entry;
  }
}
