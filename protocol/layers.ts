import { GridError } from './errors';
import { arr, bool, custom, type Infer, int, lit, num, obj, opt, schemaFail, variant } from './schema';

// A model as a list of layers (the console's form and the job spec write it); kernels/graph/layers.ts builds its
// graph. A layer sees a vector [features], an image [channels, height, width], or a sequence [positions, features]
// (after an embedding); dense flattens an image first and applies to each position of a sequence.

const dense = obj({ type: lit('dense'), units: int(1, 1 << 16) });
const act = <T extends string>(type: T) => obj({ type: lit(type) });
const leakyRelu = obj({ type: lit('leakyRelu'), alpha: opt(num(0, 1)) });
const layerNorm = obj({ type: lit('layerNorm'), eps: opt(num(1e-12, 1)) });
/** Per channel (or feature) over the batch: trains on each batch's statistics, infers with running ones. */
const batchNorm = obj({ type: lit('batchNorm'), eps: opt(num(1e-12, 1)) });
/** Zeroes each value with probability `rate` while training (the rest scaled by 1/(1-rate)); the identity otherwise. */
const dropout = obj({ type: lit('dropout'), rate: num(0, 0.95) });
const kernel = custom<number | [number, number]>(
  (v, p) =>
    Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 15
      ? (v as number)
      : Array.isArray(v) && v.length === 2 && v.every((k) => Number.isInteger(k) && k >= 1 && k <= 15)
        ? (v as [number, number])
        : schemaFail(p, 'a kernel size 1..15, or [height, width]'),
  {
    oneOf: [
      { type: 'integer', minimum: 1, maximum: 15 },
      { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 2 },
    ],
  },
);
/** `same` pads so the output is the input's size divided by the stride (rounded up); `valid` does not pad. */
/** `groups`: channels split into groups that convolve apart (groups = input channels = filters: depthwise). */
const conv2d = obj({
  type: lit('conv2d'),
  filters: int(1, 4096),
  kernel,
  stride: opt(int(1, 8)),
  padding: opt(lit('same', 'valid')),
  groups: opt(int(1, 4096)),
});
/** Pools: `size` windows every `stride` pixels (default `size`: windows that tile), `padding` 'valid' (default) or 'same'. */
const poolFields = { size: int(2, 8), stride: opt(int(1, 8)), padding: opt(lit('same', 'valid')) };
const maxPool = obj({ type: lit('maxPool'), ...poolFields });
const avgPool = obj({ type: lit('avgPool'), ...poolFields });
/** Token ids (the sample's features, whole numbers below `vocab`) to vectors of `dim`, plus a learned one per position. */
const embedding = obj({ type: lit('embedding'), vocab: int(2, 1 << 16), dim: int(1, 8192) });
/** Multi-head self-attention over a sequence's positions; `causal`: a position sees only itself and those before it. */
const attention = obj({ type: lit('attention'), heads: int(1, 64), causal: opt(bool) });

const plain = {
  dense,
  relu: act('relu'),
  gelu: act('gelu'),
  silu: act('silu'),
  tanh: act('tanh'),
  sigmoid: act('sigmoid'),
  leakyRelu,
  layerNorm,
  batchNorm,
  dropout,
  conv2d,
  maxPool,
  avgPool,
  globalAvgPool: act('globalAvgPool'),
  flatten: act('flatten'),
  embedding,
  attention,
  /** A sequence's mean over its positions: [positions, features] to [features]. */
  meanPool: act('meanPool'),
  /**
   * Each position's logits over the vocabulary from the embedding's own token table (weights tied, as GPT-2 and
   * nanoGPT do; Press & Wolf 2017): [positions, dim] to [positions, vocab], no parameters of its own.
   */
  unembed: act('unembed'),
};
const plainLayer = variant('type', plain);
/** A residual block: shortcut(x) + f(x), f its layers; the shortcut is x itself unless given (a strided 1x1 conv where f downsamples). */
const residual = obj({ type: lit('residual'), layers: arr(plainLayer, 32, 1), shortcut: opt(arr(plainLayer, 4, 1)) });
export const layer = variant('type', { ...plain, residual });

export const layersSpec = obj({
  kind: lit('layers'),
  /** One sample's shape: features, or channels-height-width (fed flattened, row-major). */
  input: arr(int(1, 1 << 24), 4, 1),
  layers: arr(layer, 64, 1),
  /** What the outputs train against; the coordinator sets it from the data set (class: softmax cross-entropy). */
  targets: opt(lit('class', 'multi-label', 'regression')),
});

export type Layer = Infer<typeof layer>;
type SequenceLayer = Infer<typeof embedding> | Infer<typeof attention> | { type: 'meanPool' };

/** The shape after an embedding, attention or mean-pool layer, and its parameters (projections are [in, out]). */
function sequenceLayer(l: SequenceLayer, shape: number[], name: string, params: LayerParam[]): number[] {
  if (l.type === 'embedding') {
    if (shape.length !== 1) throw bad(`layer ${name}: embedding takes token ids [positions]; this one gets [${shape}]`);
    // Small, as GPT-2 and nanoGPT start them: a head tied to the token table then starts near ln(vocab), not above it.
    params.push(
      { name: `${name}.tokens`, shape: [l.vocab, l.dim], init: 'embedding' },
      { name: `${name}.positions`, shape: [shape[0], l.dim], init: 'embedding' },
    );
    return [shape[0], l.dim];
  }
  if (shape.length !== 2) throw bad(`layer ${name}: ${l.type} takes a sequence [positions, features] (an embedding's); this one gets [${shape}]`);
  if (l.type === 'meanPool') return [shape[1]];
  const d = shape[1];
  if (d % l.heads) throw bad(`layer ${name}: ${d} features do not split into ${l.heads} heads`);
  for (const p of ['q', 'k', 'v', 'o']) params.push({ name: `${name}.w${p}`, shape: [d, d] }, { name: `${name}.b${p}`, shape: [d] });
  return shape;
}
export type PlainLayer = Infer<typeof plainLayer>;
export type LayersSpec = Infer<typeof layersSpec>;
export type Conv2dLayer = Infer<typeof conv2d>;

/** A parameter tensor; `init` says how a new job starts it (He-normal weights and zero biases unless it says otherwise). */
export interface LayerParam {
  name: string;
  shape: number[];
  init?: 'ones' | 'embedding';
  state?: 'running';
}

const bad = (msg: string) => new GridError('BAD_JOB_SPEC', `model.layers: ${msg}`);
const kernelOf = (l: Conv2dLayer): [number, number] => (typeof l.kernel === 'number' ? [l.kernel, l.kernel] : l.kernel);

/** A conv layer's pads (top, left, bottom, right) and output size on an h x w image. */
export function convGeometry(l: Conv2dLayer, h: number, w: number) {
  const [kh, kw] = kernelOf(l);
  const s = l.stride ?? 1;
  const axis = (n: number, k: number) => {
    if (l.padding === 'valid') return { before: 0, after: 0, out: Math.floor((n - k) / s) + 1 };
    const out = Math.ceil(n / s);
    const total = Math.max(0, (out - 1) * s + k - n);
    return { before: Math.floor(total / 2), after: total - Math.floor(total / 2), out };
  };
  const [y, x] = [axis(h, kh), axis(w, kw)];
  return { kernel: [kh, kw] as [number, number], stride: s, pads: [y.before, x.before, y.after, x.after], out: [y.out, x.out] as [number, number] };
}

/** A pool layer's windows, as a convolution's geometry (pads 'same' as for conv2d; 'valid' by default). */
export const poolGeometry = (l: { size: number; stride?: number; padding?: 'same' | 'valid' }, h: number, w: number) =>
  convGeometry({ type: 'conv2d', filters: 1, kernel: l.size, stride: l.stride ?? l.size, padding: l.padding ?? 'valid' }, h, w);

/**
 * The parameters of a layer list, in order, and the shape after each layer; a layer that does not fit the shape it
 * gets is a BAD_JOB_SPEC naming it. The names are the graph's and the checkpoint's (`l3.w`, `l2.0.scale` inside
 * block 2). `width` is the output's size (the classes); a model that ends on a sequence gives `positions` too.
 */
export function layerParams(spec: LayersSpec): { params: LayerParam[]; width: number; positions?: number } {
  const params: LayerParam[] = [];
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  let embedded: { vocab: number; dim: number } | undefined; // the first embedding, whose table an unembed reads
  const walk = (layers: readonly Layer[], shape: number[], prefix: string): number[] => {
    layers.forEach((l, i) => {
      const name = `${prefix}${i}`;
      const image = shape.length === 3;
      const sequence = shape.length === 2;
      if (l.type === 'embedding') embedded ??= { vocab: l.vocab, dim: l.dim };
      if (l.type === 'embedding' || l.type === 'attention' || l.type === 'meanPool') shape = sequenceLayer(l, shape, name, params);
      else if (l.type === 'unembed') {
        if (!embedded) throw bad(`layer ${name}: unembed reads an embedding's token table; none comes before it`);
        if (!sequence || shape[1] !== embedded.dim)
          throw bad(`layer ${name}: unembed takes [positions, ${embedded.dim}] (the embedding's width); this one gets [${shape}]`);
        shape = [shape[0], embedded.vocab];
      } else if (l.type === 'dense') {
        const features = sequence ? shape[1] : size(shape);
        params.push({ name: `${name}.w`, shape: [features, l.units] }, { name: `${name}.b`, shape: [l.units] });
        shape = sequence ? [shape[0], l.units] : [l.units];
      } else if (l.type === 'layerNorm') {
        if (image) throw bad(`layer ${name}: layerNorm takes a vector or a sequence; flatten or pool the image first`);
        const last = [shape[shape.length - 1]];
        params.push({ name: `${name}.scale`, shape: last, init: 'ones' }, { name: `${name}.bias`, shape: last });
      } else if (l.type === 'batchNorm') {
        if (sequence) throw bad(`layer ${name}: batchNorm takes a vector or an image; use layerNorm in a sequence`);
        const c = [shape[0]];
        params.push({ name: `${name}.scale`, shape: c, init: 'ones' }, { name: `${name}.bias`, shape: c });
        params.push({ name: `${name}.mean`, shape: c, state: 'running' }, { name: `${name}.var`, shape: c, init: 'ones', state: 'running' });
      } else if (l.type === 'conv2d' || l.type === 'maxPool' || l.type === 'avgPool' || l.type === 'globalAvgPool') {
        if (!image) throw bad(`layer ${name}: ${l.type} takes an image [channels, height, width]; this one gets [${shape}]`);
        const [c, h, w] = shape;
        if (l.type === 'globalAvgPool') shape = [c, 1, 1];
        else if (l.type === 'maxPool' || l.type === 'avgPool') {
          if (h < l.size || w < l.size) throw bad(`layer ${name}: a ${l.size}x${l.size} pool on a ${h}x${w} image`);
          shape = [c, ...poolGeometry(l, h, w).out];
        } else {
          const g = convGeometry(l, h, w);
          if (g.out[0] < 1 || g.out[1] < 1) throw bad(`layer ${name}: a ${g.kernel.join('x')} kernel on a ${h}x${w} image`);
          const groups = l.groups ?? 1;
          if (c % groups !== 0 || l.filters % groups !== 0)
            throw bad(`layer ${name}: ${groups} groups must divide both its ${c} input channels and its ${l.filters} filters`);
          params.push({ name: `${name}.w`, shape: [l.filters, c / groups, ...g.kernel] }, { name: `${name}.b`, shape: [l.filters] });
          shape = [l.filters, ...g.out];
        }
      } else if (l.type === 'flatten') shape = [size(shape)];
      else if (l.type === 'residual') {
        const out = walk(l.layers, shape, `${name}.`);
        const skip = l.shortcut ? walk(l.shortcut, shape, `${name}.s`) : shape;
        if (out.join() !== skip.join())
          throw bad(
            `residual block ${name} maps [${shape}] to [${out}] but its shortcut to [${skip}]; they must agree (give a shortcut where the block changes the shape)`,
          );
        shape = out;
      }
    });
    return shape;
  };
  const input = spec.input.length === 3 ? [...spec.input] : [size(spec.input)];
  const out = walk(spec.layers, input, 'l');
  if (out.length === 2) return { params, width: out[1], positions: out[0] }; // a class per position: a language model
  if (out.length !== 1) throw bad(`the last layer gives an image [${out}]; end with dense (or flatten) to give one output per class`);
  return { params, width: out[0] };
}
