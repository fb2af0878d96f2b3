import { type GpuRuntime, Uniforms } from '../gpu/runtime';

/** One of the adapter's `subgroupMatrixConfigs` (Dawn's `chromium-experimental-subgroup-matrix`). */
export interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/** A tile of C per workgroup: `rows` x `cols` result matrices, one subgroup. */
export interface SubgroupTile {
  rows: number;
  cols: number;
}

/** The f16 x f16 -> f32 configuration, the one tensor cores run, if the adapter offers it. */
export const f16Config = (configs: readonly SubgroupMatrixConfig[]) => configs.find((c) => c.componentType === 'f16' && c.resultComponentType === 'f32');

/**
 * C[M,N] f32 = A[M,K] · B[K,N], A and B f16 row-major, on the adapter's matrix units: each workgroup is one subgroup
 * computing rows x cols result matrices, loaded straight from storage (L1 and L2 share them between workgroups).
 * Only shapes that are whole multiples of the workgroup tile: the kernel has no edges.
 */
export function subgroupMatmulShader(cfg: SubgroupMatrixConfig, tile: SubgroupTile, subgroupSize: number) {
  const { M: m, N: n, K: k } = cfg;
  const pairs = tile.rows * tile.cols;
  const idx = (i: number, j: number) => i * tile.cols + j;
  const lines: string[] = [];
  for (let i = 0; i < tile.rows; i++)
    lines.push(`let l${i} = subgroupMatrixLoad<subgroup_matrix_left<f16, ${k}, ${m}>>(&a, (row0 + ${i * m}u) * u.K + k0, false, u.K);`);
  for (let j = 0; j < tile.cols; j++)
    lines.push(`let r${j} = subgroupMatrixLoad<subgroup_matrix_right<f16, ${n}, ${k}>>(&b, k0 * u.N + col0 + ${j * n}u, false, u.N);`);
  for (let i = 0; i < tile.rows; i++)
    for (let j = 0; j < tile.cols; j++) lines.push(`acc${idx(i, j)} = subgroupMatrixMultiplyAccumulate(l${i}, r${j}, acc${idx(i, j)});`);
  const stores: string[] = [];
  for (let i = 0; i < tile.rows; i++)
    for (let j = 0; j < tile.cols; j++) stores.push(`subgroupMatrixStore(&c, (row0 + ${i * m}u) * u.N + col0 + ${j * n}u, acc${idx(i, j)}, false, u.N);`);
  return /* wgsl */ `enable f16;
enable chromium_experimental_subgroup_matrix;
struct U { M: u32, N: u32, K: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f16>;
@group(0) @binding(2) var<storage, read> b: array<f16>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(${subgroupSize})
fn main(@builtin(workgroup_id) wg: vec3u) {
  let row0 = wg.y * ${tile.rows * m}u;
  let col0 = wg.x * ${tile.cols * n}u;
  ${Array.from({ length: pairs }, (_, p) => `var acc${p} = subgroup_matrix_result<f32, ${n}, ${m}>();`).join('\n  ')}
  for (var k0 = 0u; k0 < u.K; k0 += ${k}u) {
    ${lines.join('\n    ')}
  }
  ${stores.join('\n  ')}
}`;
}

/** Runs the subgroup-matrix matmul; M, N and K must be multiples of the workgroup tile. */
export function subgroupMatmul(
  rt: GpuRuntime,
  cfg: SubgroupMatrixConfig,
  tile: SubgroupTile,
  subgroupSize: number,
  bufs: { a: GPUBuffer; b: GPUBuffer; out: GPUBuffer },
  M: number,
  N: number,
  K: number,
) {
  const tm = tile.rows * cfg.M;
  const tn = tile.cols * cfg.N;
  if (M % tm || N % tn || K % cfg.K) throw new Error(`subgroupMatmul: ${M}x${N}x${K} is not a multiple of the ${tm}x${tn}x${cfg.K} tile`);
  const key = `matmul_subgroup_${cfg.M}x${cfg.N}x${cfg.K}_${tile.rows}x${tile.cols}_${subgroupSize}`;
  rt.run({
    program: { key, code: subgroupMatmulShader(cfg, tile, subgroupSize) },
    inputs: [bufs.a, bufs.b],
    outputs: [bufs.out],
    uniforms: new Uniforms().u32(M).u32(N).u32(K).buffer,
    workgroups: [N / tn, M / tm],
  });
}
