import { GridError } from './errors';
import { arr, type Infer, int, lit, num, obj, opt, variant } from './schema';

// A model as a list of layers (the console's form and the job spec write it); kernels/graph/layers.ts builds its
// graph. Layers act on the flattened sample, so every layer here maps a width to a width.

const dense = obj({ type: lit('dense'), units: int(1, 1 << 16) });
const act = <T extends string>(type: T) => obj({ type: lit(type) });
const leakyRelu = obj({ type: lit('leakyRelu'), alpha: opt(num(0, 1)) });
const layerNorm = obj({ type: lit('layerNorm'), eps: opt(num(1e-12, 1)) });

const plainLayer = variant('type', { dense, relu: act('relu'), gelu: act('gelu'), tanh: act('tanh'), sigmoid: act('sigmoid'), leakyRelu, layerNorm });
/** A residual block: x + f(x), where f (its layers) keeps the width. */
const residual = obj({ type: lit('residual'), layers: arr(plainLayer, 32, 1) });
export const layer = variant('type', {
  dense,
  relu: act('relu'),
  gelu: act('gelu'),
  tanh: act('tanh'),
  sigmoid: act('sigmoid'),
  leakyRelu,
  layerNorm,
  residual,
});

export const layersSpec = obj({
  kind: lit('layers'),
  /** One sample's shape (features, or channels-height-width); the layers see it flattened. */
  input: arr(int(1, 1 << 24), 4, 1),
  layers: arr(layer, 64, 1),
});

export type Layer = Infer<typeof layer>;
export type PlainLayer = Infer<typeof plainLayer>;
export type LayersSpec = Infer<typeof layersSpec>;

/** A parameter tensor; `init` says how a new job starts it (He-normal weights and zero biases unless it says ones). */
export interface LayerParam {
  name: string;
  shape: number[];
  init?: 'ones';
}

/**
 * The parameters of a layer list, in order, and its output width; a residual block that changes the width is a
 * BAD_JOB_SPEC naming it. The names are the graph's and the checkpoint's (`l3.w`, `l2.0.scale` inside block 2).
 */
export function layerParams(spec: LayersSpec): { params: LayerParam[]; width: number } {
  const params: LayerParam[] = [];
  const walk = (layers: readonly Layer[], width: number, prefix: string): number => {
    layers.forEach((l, i) => {
      const name = `${prefix}${i}`;
      if (l.type === 'dense') {
        params.push({ name: `${name}.w`, shape: [width, l.units] }, { name: `${name}.b`, shape: [l.units] });
        width = l.units;
      } else if (l.type === 'layerNorm') params.push({ name: `${name}.scale`, shape: [width], init: 'ones' }, { name: `${name}.bias`, shape: [width] });
      else if (l.type === 'residual') {
        const out = walk(l.layers, width, `${name}.`);
        if (out !== width) throw new GridError('BAD_JOB_SPEC', `model.layers: residual block ${name} maps width ${width} to ${out}; it must keep it`);
      }
    });
    return width;
  };
  const width = walk(
    spec.layers,
    spec.input.reduce((a, b) => a * b, 1),
    'l',
  );
  return { params, width };
}
