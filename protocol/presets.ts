import type { Layer, LayersSpec, PlainLayer } from './layers';
import { arr, custom, int, lit, obj } from './schema';

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
