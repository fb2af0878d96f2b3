import { type GpuRuntime, Uniforms } from '../gpu/runtime';
import { type Element, type TileShape, vec4MatmulShader } from './matmul-vec4';
import { wideMatmulShader } from './matmul-wide';
import { sumRows } from './sum-rows';

/** Tile shapes of the vec4 kernel worth timing on a real GPU; the fastest on the adapter is chosen at start-up. */
export const VEC4_TILES = {
  'vec4-64x64x16': { bm: 64, bn: 64, bk: 16 },
  'vec4-128x128x8': { bm: 128, bn: 128, bk: 8 },
  'vec4-128x128x16': { bm: 128, bn: 128, bk: 16 },
  'vec4-128x64x16': { bm: 128, bn: 64, bk: 16 },
  'vec4u-128x128x8': { bm: 128, bn: 128, bk: 8, unroll: true },
  'vec4u-128x64x16': { bm: 128, bn: 64, bk: 16, unroll: true },
} as const satisfies Record<string, TileShape>;
export type Vec4Variant = keyof typeof VEC4_TILES;
/** The `tiled` kernel widened: scalar staging, any shape, larger register blocks. */
export const WIDE_TILES = {
  'wide-128x128x8': { bm: 128, bn: 128, bk: 8 },
  'wide-128x128x16': { bm: 128, bn: 128, bk: 16 },
  'wide-128x64x16': { bm: 128, bn: 64, bk: 16 },
  'wide-64x128x16': { bm: 64, bn: 128, bk: 16 },
  'wide-64x128x8': { bm: 64, bn: 128, bk: 8 },
  'wide-64x64x16': { bm: 64, bn: 64, bk: 16 },
} as const satisfies Record<string, TileShape>;
export type WideVariant = keyof typeof WIDE_TILES;
export type ScalarVariant = 'register' | 'tiled' | WideVariant;
export type MatmulVariant = ScalarVariant | Vec4Variant;
export const MATMUL_VARIANTS = ['register', 'tiled', ...(Object.keys(WIDE_TILES) as WideVariant[]), ...(Object.keys(VEC4_TILES) as Vec4Variant[])] as const;
const tileOf = (v: MatmulVariant): TileShape | undefined =>
  v in VEC4_TILES ? VEC4_TILES[v as Vec4Variant] : v in WIDE_TILES ? WIDE_TILES[v as WideVariant] : undefined;

/** The vec4 kernel reads whole vec4s along each operand's contiguous dimension and writes them along N. */
export const vec4Aligned = (M: number, N: number, K: number, ta: boolean, tb: boolean) => (ta ? M : K) % 4 === 0 && (tb ? K : N) % 4 === 0 && N % 4 === 0;

const HEADER = /* wgsl */ `
struct U { M: u32, N: u32, K: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
`;

// Element accessors per layout: A is [M,K] or, transposed, [K,M]; B is [K,N] or, transposed, [N,K].
const accessA = (t: boolean) => (t ? 'a[k * u.M + m]' : 'a[m * u.K + k]');
const accessB = (t: boolean) => (t ? 'b[n * u.K + k]' : 'b[k * u.N + n]');

/**
 * Register tiling without workgroup memory: each invocation owns a 4x4 block of C. Barriers are expensive on
 * software adapters (SwiftShader, lavapipe), and they vectorize across invocations anyway.
 */
const registerShader = (ta: boolean, tb: boolean) => /* wgsl */ `${HEADER}
fn A(m: u32, k: u32) -> f32 { return ${accessA(ta)}; }
fn B(k: u32, n: u32) -> f32 { return ${accessB(tb)}; }
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  if (row0 >= u.M || col0 >= u.N) { return; }
  let mMax = u.M - 1u;
  let nMax = u.N - 1u;
  let r = vec4u(row0, min(row0 + 1u, mMax), min(row0 + 2u, mMax), min(row0 + 3u, mMax));
  let cl = vec4u(col0, min(col0 + 1u, nMax), min(col0 + 2u, nMax), min(col0 + 3u, nMax));
  var acc0 = vec4f(0.0); var acc1 = vec4f(0.0); var acc2 = vec4f(0.0); var acc3 = vec4f(0.0);
  for (var k = 0u; k < u.K; k++) {
    let bv = vec4f(B(k, cl.x), B(k, cl.y), B(k, cl.z), B(k, cl.w));
    acc0 += A(r.x, k) * bv;
    acc1 += A(r.y, k) * bv;
    acc2 += A(r.z, k) * bv;
    acc3 += A(r.w, k) * bv;
  }
  var accs = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + i;
    if (row >= u.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (col0 + j < u.N) { c[row * u.N + col0 + j] = accs[i][j]; }
    }
  }
}`;

/**
 * Classic shared-memory tiling for real GPUs: a 16x16 workgroup computes a 64x64 tile of C, each invocation a 4x4
 * register block, staging 64x16 slices of A and B in workgroup memory.
 */
const tiledShader = (ta: boolean, tb: boolean) => /* wgsl */ `${HEADER}
const TILE = 64u;
const BK = 16u;
var<workgroup> As: array<array<f32, 64>, 16>;
var<workgroup> Bs: array<array<f32, 64>, 16>;
fn A(m: u32, k: u32) -> f32 { if (m < u.M && k < u.K) { return ${accessA(ta)}; } return 0.0; }
fn B(k: u32, n: u32) -> f32 { if (k < u.K && n < u.N) { return ${accessB(tb)}; } return 0.0; }
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let tileRow = wg.y * TILE;
  let tileCol = wg.x * TILE;
  let t = lid.y * 16u + lid.x;
  var acc: array<vec4f, 4>;
  for (var k0 = 0u; k0 < u.K; k0 += BK) {
    for (var i = 0u; i < 4u; i++) {
      let e = t + i * 256u;          // 1024 elements of each 64x16 slice, 4 per invocation
      let kk = e / 64u;
      let mm = e % 64u;
      As[kk][mm] = A(tileRow + mm, k0 + kk);
      Bs[kk][mm] = B(k0 + kk, tileCol + mm);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let bv = vec4f(Bs[kk][lid.x * 4u], Bs[kk][lid.x * 4u + 1u], Bs[kk][lid.x * 4u + 2u], Bs[kk][lid.x * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) { acc[i] += As[kk][lid.y * 4u + i] * bv; }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let row = tileRow + lid.y * 4u + i;
    if (row >= u.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let col = tileCol + lid.x * 4u + j;
      if (col < u.N) { c[row * u.N + col] = acc[i][j]; }
    }
  }
}`;

const programs = new Map<string, { key: string; code: string }>();
function program(variant: MatmulVariant, ta: boolean, tb: boolean, el: Element = 'f32') {
  const key = `matmul_${variant}_${el}_${ta ? 't' : 'n'}${tb ? 't' : 'n'}`;
  let p = programs.get(key);
  if (!p) {
    const code =
      variant === 'register'
        ? registerShader(ta, tb)
        : variant === 'tiled'
          ? tiledShader(ta, tb)
          : variant in WIDE_TILES
            ? wideMatmulShader(ta, tb, WIDE_TILES[variant as WideVariant])
            : vec4MatmulShader(ta, tb, VEC4_TILES[variant as Vec4Variant], el);
    p = { key, code };
    programs.set(key, p);
  }
  return p;
}

function dispatch(
  rt: GpuRuntime,
  variant: MatmulVariant,
  el: Element,
  bufs: GPUBuffer[],
  M: number,
  N: number,
  K: number,
  ta: boolean,
  tb: boolean,
  splits = 1,
) {
  const tile = tileOf(variant);
  const [perX, perY] = variant === 'register' ? [32, 32] : tile ? [tile.bn, tile.bm] : [64, 64];
  const kChunk = splits > 1 ? Math.ceil(K / splits / 16) * 16 : K;
  rt.run({
    program: program(variant, ta, tb, el),
    inputs: bufs.slice(0, 2),
    outputs: bufs.slice(2),
    uniforms: new Uniforms().u32(M).u32(N).u32(K).u32(kChunk).buffer,
    workgroups: [Math.ceil(N / perX), Math.ceil(M / perY), splits],
  });
}

/** Workgroups a launch should have to fill a large GPU; fewer leave multiprocessors idle. */
const FILL = 256;

/**
 * How many slices to cut K into when C has too few tiles to fill the GPU (a weight gradient: 784x256 summed over a
 * batch of 4096), each slice at least 256 deep; their partial products are then summed.
 */
export function kSplits(tile: TileShape, M: number, N: number, K: number) {
  const { bm, bn } = tile;
  const tiles = Math.ceil(M / bm) * Math.ceil(N / bn);
  return Math.max(1, Math.min(Math.ceil(FILL / tiles), Math.floor(K / 256), 32));
}

/** C[M,N] = op(A)·op(B) into `out`, which must hold M*N floats; a vec4 variant on unaligned shapes runs `fallback`. */
export function matmul(
  rt: GpuRuntime,
  variant: MatmulVariant,
  fallback: ScalarVariant,
  a: GPUBuffer,
  b: GPUBuffer,
  out: GPUBuffer,
  M: number,
  N: number,
  K: number,
  ta: boolean,
  tb: boolean,
) {
  const v = variant in VEC4_TILES && !vec4Aligned(M, N, K, ta, tb) ? fallback : variant;
  const tile = tileOf(v);
  const splits = tile ? kSplits(tile, M, N, K) : 1;
  if (splits === 1) return dispatch(rt, v, 'f32', [a, b, out], M, N, K, ta, tb);
  const partial = rt.acquire(splits * M * N * 4, 'matmul_split_k');
  dispatch(rt, v, 'f32', [a, b, partial], M, N, K, ta, tb, splits);
  sumRows(rt, partial, out, splits, M * N);
  rt.releaseBuffer(partial); // queue order: the next user of this buffer runs after the sum
}

/** C[M,N] f32 = op(A)·op(B) with A and B in f16 (the adapter must have `shader-f16`), products and sums in f32. */
export function matmulF16(
  rt: GpuRuntime,
  variant: Vec4Variant,
  a: GPUBuffer,
  b: GPUBuffer,
  out: GPUBuffer,
  M: number,
  N: number,
  K: number,
  ta = false,
  tb = false,
) {
  if (!vec4Aligned(M, N, K, ta, tb)) throw new Error(`matmulF16: ${M}x${N}x${K} is not a multiple of 4 along a contiguous dimension`);
  dispatch(rt, variant, 'f16', [a, b, out], M, N, K, ta, tb);
}
