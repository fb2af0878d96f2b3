import { classCount, inputSize, type ModelSpec, outputPositions, targetKind } from '../../protocol/model';

/** The vocabulary a model's first layer reads its features as token ids from, if it is an embedding. */
const vocabOf = (spec: ModelSpec) => (spec.kind === 'layers' && spec.layers[0]?.type === 'embedding' ? spec.layers[0].vocab : undefined);

/**
 * A fixed small batch for a model: deterministic features in [0, 1) (whole token ids below the vocabulary for a model
 * that embeds them, as its data sets give; engines may read fractions differently) and labels (a class at each position for a
 * sequence model, 0/1 labels or values in [-1, 1) for target vectors).
 */
export function sampleBatch(spec: ModelSpec, n: number, seed = 7) {
  let s = seed;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const vocab = vocabOf(spec);
  const x = Float32Array.from({ length: n * inputSize(spec) }, () => (vocab ? Math.floor(next() * vocab) : next()));
  const kind = targetKind(spec);
  const positions = outputPositions(spec);
  if (positions) {
    // A class at each position (a language model's next tokens).
    const targets = Float32Array.from({ length: n * positions }, () => Math.floor(next() * classCount(spec)));
    return { x, y: new Uint32Array(n), targets };
  }
  if (kind !== 'class') {
    const targets = Float32Array.from({ length: n * classCount(spec) }, () => (kind === 'multi-label' ? Number(next() < 0.5) : 2 * next() - 1));
    return { x, y: new Uint32Array(n), targets };
  }
  const y = Uint32Array.from({ length: n }, (_, i) => (i * 5 + seed) % classCount(spec));
  return { x, y };
}
