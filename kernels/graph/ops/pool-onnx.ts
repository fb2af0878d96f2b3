import type { OnnxWriter } from '../op';
import { type Geometry, outSize } from './conv-geometry';
import { tiles, windowCounts } from './pool-windows';

/** ONNX: each pooled value repeated over its window (nearest-neighbour Resize); windows that tile the image only. */
const upsample = (w: OnnxWriter, t: string, g: Geometry) => w.node('Resize', [t, '', w.floats([1, 1, g.k[0], g.k[1]])], { mode: 'nearest' });

/** ONNX: `t` (the windows' extent) padded with zeros to the input's size, where the last row or column was dropped. */
function padToInput(w: OnnxWriter, t: string, x: string, g: Geometry, outputs: string[]) {
  const [h, wd] = (w.shapeOf(x) as number[]).slice(2);
  const [eh, ew] = [outSize(h, g, 0) * g.k[0], outSize(wd, g, 1) * g.k[1]];
  if (eh === h && ew === wd) w.node('Identity', [t], {}, outputs);
  else w.node('Pad', [t, w.ints([0, 0, 0, 0, 0, 0, h - eh, wd - ew])], {}, outputs);
}

/**
 * ONNX: `t` [N, C*taps, OH, OW], one channel per (channel, window tap), summed onto the input positions each tap read:
 * a ConvTranspose by channel whose weights pick each tap (`oneHot`) or take every tap alike.
 */
function toInputs(w: OnnxWriter, t: string, x: string, g: Geometry, oneHot: boolean, outputs: string[]) {
  const [c, h, wd] = (w.shapeOf(x) as number[]).slice(1);
  const taps = g.k[0] * g.k[1];
  const per = oneHot ? taps : 1;
  const weights = new Array(c * per * taps).fill(oneHot ? 0 : 1);
  if (oneHot) for (let ch = 0; ch < c; ch++) for (let k = 0; k < taps; k++) weights[(ch * taps + k) * taps + k] = 1;
  const kernel = w.node('Reshape', [w.floats(weights), w.ints([c * per, 1, g.k[0], g.k[1]])]);
  const [oh, ow] = [outSize(h, g, 0), outSize(wd, g, 1)];
  const full = (o: number, a: 0 | 1) => (o - 1) * g.s[a] + g.k[a] - g.p[a] - g.p[a + 2];
  const output_padding = [h - full(oh, 0), wd - full(ow, 1)];
  w.node('ConvTranspose', [t, kernel], { kernel_shape: g.k, strides: g.s, pads: g.p, group: c, output_padding }, outputs);
}

/** ONNX for MaxPoolGrad: each window's dY to the inputs equal to its maximum, summed where windows overlap. */
export function equalityRouting(w: OnnxWriter, [dy, x, y]: [string, string, string], g: Geometry, outputs: string[]) {
  const [c, h, wd] = (w.shapeOf(x) as number[]).slice(1);
  const [oh, ow] = [outSize(h, g, 0), outSize(wd, g, 1)];
  if (tiles(g)) {
    const [eh, ew] = [oh * g.k[0], ow * g.k[1]];
    const covered = eh === h && ew === wd ? x : w.node('Slice', [x, w.ints([0, 0]), w.ints([eh, ew]), w.ints([2, 3])]);
    const routed = w.node('Mul', [w.node('Cast', [w.node('Equal', [covered, upsample(w, y, g)])], { to: 1 }), upsample(w, dy, g)]);
    return padToInput(w, routed, x, g, outputs);
  }
  // Overlapping windows: the input each tap read, for every window, stacked on a new axis; pads read -inf, never a max.
  const minusInf = w.node('Reshape', [w.floats([Number.NEGATIVE_INFINITY]), w.ints([])]);
  const padded = w.node('Pad', [x, w.ints([0, 0, g.p[0], g.p[1], 0, 0, g.p[2], g.p[3]]), minusInf]);
  const read: string[] = [];
  for (let ky = 0; ky < g.k[0]; ky++)
    for (let kx = 0; kx < g.k[1]; kx++) {
      const ends = [ky + (oh - 1) * g.s[0] + 1, kx + (ow - 1) * g.s[1] + 1];
      const tap = w.node('Slice', [padded, w.ints([ky, kx]), w.ints(ends), w.ints([2, 3]), w.ints(g.s)]);
      read.push(w.node('Unsqueeze', [tap, w.ints([2])]));
    }
  const stacked = w.node('Concat', read, { axis: 2 });
  const isMax = w.node('Cast', [w.node('Equal', [stacked, w.node('Unsqueeze', [y, w.ints([2])])])], { to: 1 });
  const routed = w.node('Mul', [isMax, w.node('Unsqueeze', [dy, w.ints([2])])]);
  const byTap = w.node('Reshape', [routed, w.ints([0, c * read.length, oh, ow])]);
  toInputs(w, byTap, x, g, true, outputs);
}

/** ONNX for AveragePoolGrad: each window's dY over its count, to every input it covers. */
export function spreadMean(w: OnnxWriter, [dy, x]: [string, string], g: Geometry, includePad: boolean, outputs: string[]) {
  const [h, wd] = (w.shapeOf(x) as number[]).slice(2);
  if (tiles(g)) return padToInput(w, upsample(w, w.node('Div', [dy, w.floats([g.k[0] * g.k[1]])]), g), x, g, outputs);
  const counts = w.node('Reshape', [w.floats([...windowCounts(g, h, wd, includePad)]), w.ints([1, 1, outSize(h, g, 0), outSize(wd, g, 1)])]);
  toInputs(w, w.node('Div', [dy, counts]), x, g, false, outputs);
}
