import { GridError } from '../../protocol/errors';
import { type GpuRuntime, programBindings, Uniforms } from '../gpu/runtime';

/**
 * FusedAttention on our WGSL (flash attention, Dao et al. 2022): a workgroup takes 64 rows of one head; tiles of keys
 * and values (or, for dk and dv, of queries) pass through workgroup memory, and each row keeps its running maximum,
 * sum and output in registers, so the [t, t] scores never reach memory. Programs are generated per head width.
 */
export interface AttentionDims {
  /** batch x heads */
  rows: number;
  t: number;
  tk: number;
  d: number;
  scale: number;
  causal: boolean;
}

const ROWS = 64;
/** Workgroup memory a program may use, in f32s (WebGPU's default maxComputeWorkgroupStorageSize, 16 KiB). */
const SHARED_FLOATS = 4096;
const MAX_WIDTH = 256;

/** Rows of a tile: two [tile, d] blocks (and two scalars a row) fit in workgroup memory. */
const tileOf = (d: number) => Math.min(64, Math.floor(SHARED_FLOATS / (2 * d + 2)));

const UNIFORMS = 't: u32, tk: u32, scale: f32';

/** The prelude every pass shares: sizes as constants, the row this invocation owns, and the tile in workgroup memory. */
const prelude = (d: number, inputs: string[], outputs: string[], shared: string[]) => /* wgsl */ `
const D = ${d}u;
const TILE = ${tileOf(d)}u;
const ROWS = ${ROWS}u;
${programBindings(UNIFORMS, inputs, outputs)}
${shared.map((name) => `var<workgroup> ${name}: array<f32, ${tileOf(d) * d}>;`).join('\n')}`;

/** The passes over query rows: keys and values from `j0` into the tile, each invocation `l` a stride of it. */
const KEY_TILE = /* wgsl */ `
fn loadKeys(j0: u32, ko: u32, l: u32) {
  for (var e = l; e < TILE * D; e += ROWS) {
    let j = j0 + e / D;
    if (j < u.tk) { kt[e] = K[ko + j * D + e % D]; vt[e] = V[ko + j * D + e % D]; }
  }
}`;

/** y and the log-sum-exp of each query row, keys taken a tile at a time with the softmax rescaled once per tile. */
const forward = (d: number, causal: boolean) => /* wgsl */ `${prelude(d, ['Q', 'K', 'V'], ['Y', 'L'], ['kt', 'vt'])}
${KEY_TILE}
@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) l: u32) {
  let i = wg.x * ROWS + l;
  let live = i < u.t;
  let qo = (wg.y * u.t + i) * D;
  let ko = wg.y * u.tk * D;
  let seen = ${causal ? 'i + 1u' : 'u.tk'};
  var q: array<f32, D>;
  var acc: array<f32, D>;
  var s: array<f32, TILE>;
  if (live) { for (var x = 0u; x < D; x++) { q[x] = Q[qo + x] * u.scale; } }
  var m = -3.0e38;
  var sum = 0.0;
  let lastKey = ${causal ? 'min(u.tk, wg.x * ROWS + ROWS)' : 'u.tk'};
  for (var j0 = 0u; j0 < lastKey; j0 += TILE) {
    loadKeys(j0, ko, l);
    workgroupBarrier();
    if (live && j0 < seen) {
      let n = min(TILE, seen - j0);
      var mt = m;
      for (var j = 0u; j < n; j++) {
        var score = 0.0;
        for (var x = 0u; x < D; x++) { score += q[x] * kt[j * D + x]; }
        s[j] = score;
        mt = max(mt, score);
      }
      let rescale = exp(m - mt);
      sum *= rescale;
      for (var x = 0u; x < D; x++) { acc[x] *= rescale; }
      for (var j = 0u; j < n; j++) {
        let p = exp(s[j] - mt);
        sum += p;
        for (var x = 0u; x < D; x++) { acc[x] += p * vt[j * D + x]; }
      }
      m = mt;
    }
    workgroupBarrier();
  }
  if (live) {
    for (var x = 0u; x < D; x++) { Y[qo + x] = acc[x] / sum; }
    L[wg.y * u.t + i] = m + log(sum);
  }
}`;

/** dq of each query row (keys a tile at a time), and the row's Σ dy·y (less dlse) that the key pass reads. */
const queryPass = (d: number, causal: boolean, dLse: boolean) => /* wgsl */ `${prelude(
  d,
  ['Q', 'K', 'V', 'Yf', 'L', 'DY', ...(dLse ? ['DL'] : [])],
  ['DQ', 'R'],
  ['kt', 'vt'],
)}
${KEY_TILE}
@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) l: u32) {
  let i = wg.x * ROWS + l;
  let live = i < u.t;
  let row = wg.y * u.t + i;
  let qo = row * D;
  let ko = wg.y * u.tk * D;
  let seen = ${causal ? 'i + 1u' : 'u.tk'};
  var q: array<f32, D>;
  var dy: array<f32, D>;
  var dq: array<f32, D>;
  var lse = 0.0;
  var rowDot = 0.0;
  if (live) {
    for (var x = 0u; x < D; x++) { q[x] = Q[qo + x] * u.scale; dy[x] = DY[qo + x]; rowDot += dy[x] * Yf[qo + x]; }
    rowDot -= ${dLse ? 'DL[row]' : '0.0'};
    lse = L[row];
    R[row] = rowDot;
  }
  let lastKey = ${causal ? 'min(u.tk, wg.x * ROWS + ROWS)' : 'u.tk'};
  for (var j0 = 0u; j0 < lastKey; j0 += TILE) {
    loadKeys(j0, ko, l);
    workgroupBarrier();
    if (live && j0 < seen) {
      for (var j = 0u; j < min(TILE, seen - j0); j++) {
        var s = 0.0;
        var dp = 0.0;
        for (var x = 0u; x < D; x++) { s += q[x] * kt[j * D + x]; dp += dy[x] * vt[j * D + x]; }
        let ds = exp(s - lse) * (dp - rowDot);
        for (var x = 0u; x < D; x++) { dq[x] += ds * kt[j * D + x]; }
      }
    }
    workgroupBarrier();
  }
  if (live) { for (var x = 0u; x < D; x++) { DQ[qo + x] = dq[x] * u.scale; } }
}`;

/** dk and dv of each key row, queries (with their dy, log-sum-exp and row sums) a tile at a time. */
const keyPass = (d: number, causal: boolean) => /* wgsl */ `${prelude(d, ['Q', 'K', 'V', 'L', 'DY', 'R'], ['DK', 'DV'], ['qt', 'dyt'])}
var<workgroup> lt: array<f32, TILE>;
var<workgroup> rt: array<f32, TILE>;
@compute @workgroup_size(${ROWS})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) l: u32) {
  let j = wg.x * ROWS + l;
  let live = j < u.tk;
  let ko = (wg.y * u.tk + j) * D;
  let qo = wg.y * u.t * D;
  var k: array<f32, D>;
  var v: array<f32, D>;
  var dk: array<f32, D>;
  var dv: array<f32, D>;
  if (live) { for (var x = 0u; x < D; x++) { k[x] = K[ko + x] * u.scale; v[x] = V[ko + x]; } }
  let firstQuery = ${causal ? 'wg.x * ROWS' : '0u'};
  for (var i0 = firstQuery; i0 < u.t; i0 += TILE) {
    for (var e = l; e < TILE * D; e += ROWS) {
      let i = i0 + e / D;
      if (i < u.t) { qt[e] = Q[qo + i * D + e % D]; dyt[e] = DY[qo + i * D + e % D]; }
    }
    for (var e = l; e < TILE; e += ROWS) {
      if (i0 + e < u.t) { lt[e] = L[wg.y * u.t + i0 + e]; rt[e] = R[wg.y * u.t + i0 + e]; }
    }
    workgroupBarrier();
    if (live) {
      let first = ${causal ? 'max(i0, j) - i0' : '0u'};
      for (var i = first; i < min(TILE, u.t - i0); i++) {
        var s = 0.0;
        var dp = 0.0;
        for (var x = 0u; x < D; x++) { s += qt[i * D + x] * k[x]; dp += dyt[i * D + x] * v[x]; }
        let p = exp(s - lt[i]);
        let ds = p * (dp - rt[i]);
        for (var x = 0u; x < D; x++) { dv[x] += p * dyt[i * D + x]; dk[x] += ds * qt[i * D + x]; }
      }
    }
    workgroupBarrier();
  }
  if (live) { for (var x = 0u; x < D; x++) { DK[ko + x] = dk[x] * u.scale; DV[ko + x] = dv[x]; } }
}`;

const programs = new Map<string, { key: string; code: string }>();
function program(key: string, code: () => string) {
  return programs.get(key) ?? programs.set(key, { key, code: code() }).get(key)!;
}

function dispatchable(a: AttentionDims) {
  if (a.d > MAX_WIDTH) throw new GridError('UNSUPPORTED_OP', `FusedAttention on our WGSL takes heads up to ${MAX_WIDTH} wide (this one is ${a.d})`);
  if (a.rows > 65535) throw new GridError('UNSUPPORTED_OP', `FusedAttention over ${a.rows} heads in one call (our WGSL takes 65,535)`);
}

const uniforms = (a: AttentionDims) => new Uniforms().u32(a.t).u32(a.tk).f32(a.scale).buffer;

/** y [rows, t, d] and its log-sum-exp [rows, t] from q, k, v. */
export function attentionForward(rt: GpuRuntime, a: AttentionDims, [q, k, v]: GPUBuffer[], y: GPUBuffer, lse: GPUBuffer) {
  dispatchable(a);
  const p = program(`graph_attention:${a.d}:${a.causal}`, () => forward(a.d, a.causal));
  rt.run({ program: p, inputs: [q, k, v], outputs: [y, lse], uniforms: uniforms(a), workgroups: [Math.ceil(a.t / ROWS), a.rows] });
}

/**
 * dq, dk, dv from q, k, v, y, lse, dy (and dlse): a pass over query rows, then one over key rows; `rowSums` [rows, t]
 * is scratch the first writes for the second.
 */
export function attentionBackward(rt: GpuRuntime, a: AttentionDims, inputs: GPUBuffer[], [dq, dk, dv]: GPUBuffer[], rowSums: GPUBuffer) {
  dispatchable(a);
  const [q, k, v, y, lse, dy, dLse] = inputs;
  const dL = Boolean(dLse);
  const rows = program(`graph_attention_dq:${a.d}:${a.causal}:${dL}`, () => queryPass(a.d, a.causal, dL));
  rt.run({
    program: rows,
    inputs: [q, k, v, y, lse, dy, ...(dLse ? [dLse] : [])],
    outputs: [dq, rowSums],
    uniforms: uniforms(a),
    workgroups: [Math.ceil(a.t / ROWS), a.rows],
  });
  const keys = program(`graph_attention_dkv:${a.d}:${a.causal}`, () => keyPass(a.d, a.causal));
  rt.run({ program: keys, inputs: [q, k, v, lse, dy, rowSums], outputs: [dk, dv], uniforms: uniforms(a), workgroups: [Math.ceil(a.tk / ROWS), a.rows] });
}
