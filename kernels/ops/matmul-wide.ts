import type { TileShape } from './matmul-vec4';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * Shared-memory tiling with scalar staging, for any shape: the `tiled` kernel's access pattern (consecutive
 * invocations stage consecutive rows of a slice; each reads its rows as broadcasts and four neighbouring columns)
 * widened to a BMxBN tile with (BM/16)x(BN/16) outputs per invocation, in 4x4 blocks 64 apart. K may be split
 * across workgroups (z), each writing its own M x N slice of c for a sum afterwards.
 */
export function wideMatmulShader(ta: boolean, tb: boolean, s: TileShape): string {
  const I = s.bm / 64;
  const J = s.bn / 64;
  const acc = (i: number, r: number, j: number) => `c${i}_${r}_${j}`;
  const accs = range(I).flatMap((i) => range(4).flatMap((r) => range(J).map((j) => acc(i, r, j))));
  const load = (name: 'A' | 'B', rows: number) =>
    range((rows * s.bk) / 256).map((l) => {
      const [kk, mm] = [`(t + ${256 * l}u) / ${rows}u`, `(t + ${256 * l}u) % ${rows}u`];
      return name === 'A' ? `    As[${kk}][${mm}] = A(tileRow + ${mm}, k0 + ${kk});` : `    Bs[${kk}][${mm}] = B(k0 + ${kk}, tileCol + ${mm});`;
    });
  const step = [
    ...range(J).map((j) => {
      const col = `lid.x * 4u + ${64 * j}u`;
      return `      let b${j} = vec4f(Bs[kk][${col}], Bs[kk][${col} + 1u], Bs[kk][${col} + 2u], Bs[kk][${col} + 3u]);`;
    }),
    ...range(I).flatMap((i) =>
      range(4).flatMap((r) => [
        `      let a${i}_${r} = As[kk][lid.y * 4u + ${64 * i + r}u];`,
        ...range(J).map((j) => `      ${acc(i, r, j)} += a${i}_${r} * b${j};`),
      ]),
    ),
  ];
  const store = range(I).flatMap((i) =>
    range(4).flatMap((r) =>
      range(J).map((j) => {
        const row = `tileRow + lid.y * 4u + ${64 * i + r}u`;
        const col = `tileCol + lid.x * 4u + ${64 * j}u`;
        return `  if (${row} < u.M) { for (var q = 0u; q < 4u; q++) { if (${col} + q < u.N) { c[out0 + (${row}) * u.N + ${col} + q] = ${acc(i, r, j)}[q]; } } }`;
      }),
    ),
  );
  return /* wgsl */ `
struct U { M: u32, N: u32, K: u32, kChunk: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
var<workgroup> As: array<array<f32, ${s.bm}>, ${s.bk}>;
var<workgroup> Bs: array<array<f32, ${s.bn}>, ${s.bk}>;
var<private> kEnd: u32;
fn A(m: u32, k: u32) -> f32 { if (m < u.M && k < kEnd) { return ${ta ? 'a[k * u.M + m]' : 'a[m * u.K + k]'}; } return 0.0; }
fn B(k: u32, n: u32) -> f32 { if (k < kEnd && n < u.N) { return ${tb ? 'b[n * u.K + k]' : 'b[k * u.N + n]'}; } return 0.0; }
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let tileRow = wg.y * ${s.bm}u;
  let tileCol = wg.x * ${s.bn}u;
  let t = lid.y * 16u + lid.x;
  let kBegin = wg.z * u.kChunk;
  kEnd = min(u.K, kBegin + u.kChunk);
  let out0 = wg.z * u.M * u.N;
  ${accs.map((v) => `var ${v} = vec4f(0.0);`).join(' ')}
  for (var k0 = kBegin; k0 < min(u.K, kBegin + u.kChunk); k0 += ${s.bk}u) {
${load('A', s.bm).join('\n')}
${load('B', s.bn).join('\n')}
    workgroupBarrier();
    for (var kk = 0u; kk < ${s.bk}u; kk++) {
${step.join('\n')}
    }
    workgroupBarrier();
  }
${store.join('\n')}
}`;
}
