import { int, lit, num, obj, opt, str, withDefault } from './schema';

/**
 * An inference job: a registered ONNX model (by sha256) run over a data set, shard by shard, outputs assembled in
 * input order. `postprocess` shrinks what comes back: `argmax` (one class per sample), `topk:K` (K classes, best
 * first) or `raw` (the output tensor, in `outputDtype`).
 */
export const inferenceJob = obj({
  name: str(200),
  description: opt(str(1000)),
  mode: lit('inference'),
  model: obj({
    sha256: str(64),
    /** The graph input fed with the data set's features; default: the model's only input. */
    input: opt(str(200)),
    /** The graph output kept; default: the model's first output. */
    output: opt(str(200)),
  }),
  dataset: obj({ name: str(100), split: withDefault(str(40), 'test') }),
  postprocess: withDefault(str(20), 'raw'),
  outputDtype: withDefault(lit('f32', 'f16'), 'f32'),
  shardSize: int(1, 1 << 20),
  /** Default 5% of shards computed twice; raw outputs compared within `tolerance` (relative L2), classes exactly. */
  redundancy: withDefault(obj({ fraction: withDefault(num(0, 1), 0.05), tolerance: withDefault(num(0, 1), 1e-3) }), { fraction: 0.05, tolerance: 1e-3 }),
  leaseMs: withDefault(int(1000, 3_600_000), 60_000),
  workers: withDefault(lit('any', 'native'), 'any'),
});

export type Postprocess = { kind: 'raw' } | { kind: 'argmax' } | { kind: 'topk'; k: number };

/** Parse `raw`, `argmax` or `topk:K`; undefined when it is none of them. */
export function parsePostprocess(s: string): Postprocess | undefined {
  if (s === 'raw' || s === 'argmax') return { kind: s };
  const m = /^topk:([1-9]\d{0,3})$/.exec(s);
  return m ? { kind: 'topk', k: Number(m[1]) } : undefined;
}

/** Values kept per sample when the model's output has `width` values per sample. */
export const keptPerSample = (p: Postprocess, width: number) => (p.kind === 'raw' ? width : p.kind === 'argmax' ? 1 : p.k);

/** Reduce `n` rows of `width` outputs to what `p` keeps, row by row (class indices as floats: exact below 2^24). */
export function postprocess(out: Float32Array, n: number, width: number, p: Postprocess): Float32Array {
  if (p.kind === 'raw') return out;
  const k = keptPerSample(p, width);
  const kept = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const row = out.subarray(i * width, (i + 1) * width);
    if (k === 1) {
      let best = 0;
      for (let j = 1; j < width; j++) if (row[j] > row[best]) best = j;
      kept[i] = best;
    } else
      kept.set(
        Array.from({ length: width }, (_, j) => j)
          .sort((a, b) => row[b] - row[a] || a - b)
          .slice(0, k),
        i * k,
      );
  }
  return kept;
}

/** The predicted class of each of `n` rows: the first kept index, or the argmax of a raw row. */
export function predictedClasses(kept: Float32Array, n: number, width: number, p: Postprocess): Uint32Array {
  const k = keptPerSample(p, width);
  const classes = new Uint32Array(n);
  for (let i = 0; i < n; i++) classes[i] = p.kind === 'raw' ? postprocess(kept.subarray(i * k, (i + 1) * k), 1, k, { kind: 'argmax' })[0] : kept[i * k];
  return classes;
}
