import { GridError } from '../../../protocol/errors';
import type { Attrs, Dim, Shape } from '../ir';
import { type Geometry, geometry, image, outSize } from './conv-geometry';

/**
 * A pooling window's geometry: a 2-D kernel with strides and pads; windows may overlap (a ResNet stem's 3x3 stride 2
 * max-pool). Dilated windows and ceil_mode are refused by name.
 */
export function poolGeometry(attrs: Attrs, op = 'pooling'): Geometry {
  if (!Array.isArray(attrs.kernel_shape) || attrs.kernel_shape.length !== 2) throw new GridError('BAD_MODEL', `${op} needs a 2-D kernel_shape`);
  const g = geometry(attrs, [1, 1]);
  if (g.d.some((d) => d !== 1) || attrs.ceil_mode === 1)
    throw new GridError('UNSUPPORTED_OP', `${op} with dilations [${g.d}] or ceil_mode 1: only undilated windows, rounded down, are supported`);
  if (g.p[0] >= g.k[0] || g.p[2] >= g.k[0] || g.p[1] >= g.k[1] || g.p[3] >= g.k[1])
    throw new GridError('BAD_MODEL', `${op} pads [${g.p}] must be smaller than its kernel [${g.k}]`);
  return g;
}

/** Windows that tile the image (stride = kernel, no pads): each input in at most one window. */
export const tiles = (g: Geometry) => g.s[0] === g.k[0] && g.s[1] === g.k[1] && g.p.every((p) => p === 0);

/** A pool's output shape. */
export function poolShape(x: Shape, attrs: Attrs, op: string): Dim[] {
  const [n, c, h, w] = image(x, op);
  const g = poolGeometry(attrs, op);
  const [oh, ow] = [outSize(h, g, 0), outSize(w, g, 1)];
  if (oh < 1 || ow < 1) throw new GridError('BAD_MODEL', `${op} with kernel [${g.k}] on a ${h}x${w} image`);
  return [n, c, oh, ow];
}

/** Every (window, tap) whose input is inside the image, as flat indices into the output `o` and the input `i`. */
export function windows([n, c, h, w]: readonly number[], g: Geometry, visit: (o: number, i: number) => void) {
  const [oh, ow] = [outSize(h, g, 0), outSize(w, g, 1)];
  for (let p = 0; p < n * c; p++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++)
        for (let ky = 0; ky < g.k[0]; ky++) {
          const iy = oy * g.s[0] - g.p[0] + ky;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < g.k[1]; kx++) {
            const ix = ox * g.s[1] - g.p[1] + kx;
            if (ix >= 0 && ix < w) visit((p * oh + oy) * ow + ox, (p * h + iy) * w + ix);
          }
        }
}

export const pooledShape = (x: readonly number[], g: Geometry) => [x[0], x[1], outSize(x[2], g, 0), outSize(x[3], g, 1)];

/** How many inputs each window averages: its taps inside the image, or all of them where pads count (count_include_pad). */
export function windowCounts(g: Geometry, h: number, w: number, includePad: boolean): Float32Array {
  const [oh, ow] = [outSize(h, g, 0), outSize(w, g, 1)];
  const counts = new Float32Array(oh * ow);
  if (includePad) return counts.fill(g.k[0] * g.k[1]);
  windows([1, 1, h, w], g, (o) => {
    counts[o]++;
  });
  return counts;
}
