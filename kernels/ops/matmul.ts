import { type GpuRuntime, Uniforms } from '../gpu/runtime';

export type MatmulVariant = 'register' | 'tiled';

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
function program(variant: MatmulVariant, ta: boolean, tb: boolean) {
  const key = `matmul_${variant}_${ta ? 't' : 'n'}${tb ? 't' : 'n'}`;
  let p = programs.get(key);
  if (!p) {
    p = { key, code: variant === 'register' ? registerShader(ta, tb) : tiledShader(ta, tb) };
    programs.set(key, p);
  }
  return p;
}

/** C[M,N] = op(A)·op(B) into `out`, which must hold M*N floats. */
export function matmul(
  rt: GpuRuntime,
  variant: MatmulVariant,
  a: GPUBuffer,
  b: GPUBuffer,
  out: GPUBuffer,
  M: number,
  N: number,
  K: number,
  ta: boolean,
  tb: boolean,
) {
  const per = variant === 'register' ? [32, 32] : [64, 64];
  rt.run({
    program: program(variant, ta, tb),
    inputs: [a, b],
    outputs: [out],
    uniforms: new Uniforms().u32(M).u32(N).u32(K).buffer,
    workgroups: [Math.ceil(N / per[0]), Math.ceil(M / per[1])],
  });
}
