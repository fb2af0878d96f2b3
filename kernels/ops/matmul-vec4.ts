/**
 * Shared-memory tiled matmul for real GPUs, with vec4 loads and register blocking: a 16x16 workgroup computes a
 * BMxBN tile of C, each invocation (BM/16)x(BN/16) outputs held in vec4 registers, the next BK-slice of A and B
 * fetched into registers while the current one is multiplied out of workgroup memory. Rows and columns of an
 * invocation's block are 64 apart, so a subgroup's reads of workgroup memory are broadcasts or consecutive vec4s.
 * Needs every contiguous dimension (A's, B's and N) divisible by 4; `element` f16 halves the bytes read and staged
 * (adapters with `shader-f16`) while products and sums stay f32.
 */
export interface TileShape {
  bm: 64 | 128;
  bn: 64 | 128;
  bk: 8 | 16;
  /** Unroll the k loop (literal workgroup-memory offsets); costly to compile on software adapters. */
  unroll?: boolean;
}
export type Element = 'f32' | 'f16';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Loads of one operand's BKxB{M,N} slice into registers and from there into workgroup memory, k-major. */
function slice(name: 'A' | 'B', rows: number, bk: number, alongK: boolean, el: Element) {
  const perThread = (rows * bk) / 4 / 256;
  const buf = name.toLowerCase();
  const dim = name === 'A' ? 'u.M' : 'u.N';
  const origin = name === 'A' ? 'tileRow' : 'tileCol';
  // alongK: the operand is stored [rows, K] (vec4 runs along k); otherwise [K, rows] (vec4 runs along rows).
  const fetch = range(perThread).map((l) => {
    const e = `(t + ${256 * l}u)`;
    const [r, k] = alongK ? [`${e} / ${bk / 4}u`, `(${e} % ${bk / 4}u) * 4u`] : [`(${e} % ${rows / 4}u) * 4u`, `${e} / ${rows / 4}u`];
    const index = alongK ? `((${origin} + r) * u.K + k0 + k) / 4u` : `((k0 + k) * ${dim} + ${origin} + r) / 4u`;
    return `  { let r = ${r}; let k = ${k};
    if (${origin} + r < ${dim} && k0 + k < kEnd) { ${name}reg${l} = ${buf}[${index}]; } else { ${name}reg${l} = vec4<${el}>(); } }`;
  });
  const stage = range(perThread).map((l) => {
    const e = `(t + ${256 * l}u)`;
    if (!alongK) return `  ${name}s[${e}] = ${name}reg${l};`;
    const r = `${e} / ${bk / 4}u`;
    const k = `(${e} % ${bk / 4}u) * 4u`;
    return range(4)
      .map((c) => `  ${name}s[(${k} + ${c}u) * ${rows / 4}u + ${r} / 4u][${r} % 4u] = ${name}reg${l}[${c}];`)
      .join('\n');
  });
  const regs = range(perThread).map((l) => `var ${name}reg${l}: vec4<${el}>;`);
  return { fetch: fetch.join('\n'), stage: stage.join('\n'), regs: regs.join('\n') };
}

export function vec4MatmulShader(ta: boolean, tb: boolean, s: TileShape, el: Element): string {
  if ((s.bm * s.bk) % 1024 || (s.bn * s.bk) % 1024) throw new Error(`tile ${s.bm}x${s.bn}x${s.bk}: each invocation must load whole vec4s`);
  const a = slice('A', s.bm, s.bk, !ta, el);
  const b = slice('B', s.bn, s.bk, tb, el);
  const I = s.bm / 64;
  const J = s.bn / 64;
  const acc = (i: number, r: number, j: number) => `c${i}_${r}_${j}`;
  const accs = range(I).flatMap((i) => range(4).flatMap((r) => range(J).map((j) => acc(i, r, j))));
  const product = (k: string, id: string) => [
    ...range(I).map((i) => `    let a${id}_${i} = vec4f(As[${k} * ${s.bm / 4}u + ${16 * i}u + lid.y]);`),
    ...range(J).map((j) => `    let b${id}_${j} = vec4f(Bs[${k} * ${s.bn / 4}u + ${16 * j}u + lid.x]);`),
    ...range(I).flatMap((i) => range(4).flatMap((r) => range(J).map((j) => `    ${acc(i, r, j)} += a${id}_${i}[${r}] * b${id}_${j};`))),
  ];
  const step = s.unroll ? range(s.bk).flatMap((k) => product(`${k}u`, `${k}`)) : [`    for (var k = 0u; k < ${s.bk}u; k++) {`, ...product('k', ''), '    }'];
  const store = range(I).flatMap((i) =>
    range(4).flatMap((r) =>
      range(J).map((j) => {
        const row = `tileRow + lid.y * 4u + ${64 * i + r}u`;
        const col = `tileCol + lid.x * 4u + ${64 * j}u`;
        return `  if (${row} < u.M && ${col} < u.N) { c[out0 + (${row}) * (u.N / 4u) + (${col}) / 4u] = ${acc(i, r, j)}; }`;
      }),
    ),
  );
  return /* wgsl */ `${el === 'f16' ? 'enable f16;' : ''}
struct U { M: u32, N: u32, K: u32, kChunk: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<vec4<${el}>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<${el}>>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4f>;
var<workgroup> As: array<vec4<${el}>, ${(s.bk * s.bm) / 4}>;
var<workgroup> Bs: array<vec4<${el}>, ${(s.bk * s.bn) / 4}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let tileRow = wg.y * ${s.bm}u;
  let tileCol = wg.x * ${s.bn}u;
  let t = lid.y * 16u + lid.x;
  ${a.regs}
  ${b.regs}
  ${accs.map((v) => `var ${v} = vec4f(0.0);`).join(' ')}
  // Split K: workgroup z sums k in [z * kChunk, (z + 1) * kChunk) into its own M x N slice of c.
  var k0 = wg.z * u.kChunk;
  let kEnd = min(u.K, k0 + u.kChunk);
  let out0 = wg.z * (u.M * u.N / 4u);
${a.fetch}
${b.fetch}
${a.stage}
${b.stage}
  workgroupBarrier();
  for (; k0 < kEnd; ) {
    k0 += ${s.bk}u;
    if (k0 < kEnd) {
${a.fetch}
${b.fetch}
    }
${step.join('\n')}
    workgroupBarrier();
    if (k0 < kEnd) {
${a.stage}
${b.stage}
    }
    workgroupBarrier();
  }
${store.join('\n')}
}`;
}
