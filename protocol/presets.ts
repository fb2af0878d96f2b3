import type { Layer, LayersSpec, PlainLayer } from './layers';
import { arr, bool, custom, int, lit, num, obj, opt } from './schema';

/**
 * `{kind: "resnet"}`: a residual CNN for small images (He et al. 2016, the CIFAR form): a 3x3 stem, then one stage
 * per width of `blocks` basic blocks (two 3x3 convs with batch norm; each later stage halves the image and projects
 * its shortcut with a strided 1x1 conv), global average pooling, one dense layer. It is a shorthand: the job keeps
 * the layer list it stands for.
 */
const resnetPreset = obj({
  kind: lit('resnet'),
  input: arr(int(1, 4096), 3, 3),
  widths: arr(int(1, 1024), 6, 1),
  blocks: int(1, 8),
  classes: int(2, 1 << 16),
});

export const resnetSpec = custom<LayersSpec>((v, p) => resnetLayers(resnetPreset(v, p)), resnetPreset.json);

/**
 * `{kind: "gpt"}`: a GPT (Radford et al. 2019, as nanoGPT writes it) for a character- or token-level data set: token
 * and position embeddings, `nLayer` pre-norm blocks (causal multi-head attention, then a GELU MLP four times as wide,
 * each in a residual), a final layer norm, and the next token's logits at every position from the embedding's token
 * table (tied weights, as GPT-2; `tied: false` gives the head its own matrix and bias).
 */
const gptPreset = obj({
  kind: lit('gpt'),
  vocab: int(2, 1 << 16),
  blockSize: int(1, 4096),
  nLayer: int(1, 48),
  nHead: int(1, 64),
  nEmbd: int(1, 8192),
  tied: opt(bool),
  /** nanoGPT's dropout: after the embeddings, the attention and the MLP, while training (0, the default: none). */
  dropout: opt(num(0, 0.95)),
});

export const gptSpec = custom<LayersSpec>((v, p) => gptLayers(gptPreset(v, p)), gptPreset.json);

function gptLayers(c: ReturnType<typeof gptPreset>): LayersSpec {
  const drop: PlainLayer[] = c.dropout ? [{ type: 'dropout', rate: c.dropout }] : [];
  const block: Layer[] = [
    { type: 'residual', layers: [{ type: 'layerNorm' }, { type: 'attention', heads: c.nHead, causal: true }, ...drop] },
    { type: 'residual', layers: [{ type: 'layerNorm' }, { type: 'dense', units: 4 * c.nEmbd }, { type: 'gelu' }, { type: 'dense', units: c.nEmbd }, ...drop] },
  ];
  const layers: Layer[] = [{ type: 'embedding', vocab: c.vocab, dim: c.nEmbd }, ...drop, ...Array.from({ length: c.nLayer }, () => block).flat()];
  layers.push({ type: 'layerNorm' }, c.tied === false ? { type: 'dense', units: c.vocab } : { type: 'unembed' });
  return { kind: 'layers', input: [c.blockSize], layers };
}

const conv = (filters: number, kernel: number, stride = 1): PlainLayer => ({ type: 'conv2d', filters, kernel, stride });

function resnetLayers(r: ReturnType<typeof resnetPreset>): LayersSpec {
  const layers: Layer[] = [conv(r.widths[0], 3), { type: 'batchNorm' }, { type: 'relu' }];
  let channels = r.widths[0];
  r.widths.forEach((width, stage) => {
    for (let b = 0; b < r.blocks; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const inner = [conv(width, 3, stride), { type: 'batchNorm' }, { type: 'relu' }, conv(width, 3), { type: 'batchNorm' }] as PlainLayer[];
      const projected = stride !== 1 || width !== channels;
      layers.push({ type: 'residual', layers: inner, ...(projected ? { shortcut: [conv(width, 1, stride), { type: 'batchNorm' }] } : {}) }, { type: 'relu' });
      channels = width;
    }
  });
  layers.push({ type: 'globalAvgPool' }, { type: 'dense', units: r.classes });
  return { kind: 'layers', input: r.input, layers };
}
