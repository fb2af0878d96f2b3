import { GridError } from '../../../protocol/errors';
import type { Attrs, HostTensor, Shape } from '../ir';
import type { OnnxWriter, OpDef } from '../op';

/**
 * Scaled dot-product attention in one op (our own name: ONNX's opset-23 Attention has other outputs), as flash
 * attention computes it (Dao et al. 2022): y = softmax(scale q kᵀ + mask) v over [batch, heads, positions, width],
 * and each row's log-sum-exp, which the backward uses to rebuild the softmax instead of keeping a [t, t] matrix per
 * head. `causal` 1: position i attends to keys 0..i only. Our WGSL runs it as one kernel (kernels/graph/gpu-attention.ts);
 * ONNX and the CPU reference compute the same in standard steps (in ONNX the backward reads the forward's softmax).
 */
const scaleOf = (attrs: Attrs) => Number(attrs.scale);
const causalOf = (attrs: Attrs) => attrs.causal === 1;

/** What a masked-out score becomes in ONNX: its softmax weight is exactly 0 in float32. */
const MASKED = -1e9;

function check([q, k, v]: Shape[], attrs: Attrs) {
  if (q.length !== 4 || k.length !== 4 || v.length !== 4)
    throw new GridError('BAD_MODEL', 'FusedAttention takes q, k and v of rank 4 [batch, heads, positions, width]');
  if (q[3] !== k[3] || k[3] !== v[3] || k[2] !== v[2] || q[1] !== k[1] || k[1] !== v[1])
    throw new GridError('BAD_MODEL', `FusedAttention of q [${q}], k [${k}], v [${v}]: widths, heads or key lengths differ`);
  if (causalOf(attrs) && q[2] !== k[2]) throw new GridError('BAD_MODEL', 'causal FusedAttention needs as many keys as queries');
  if (!Number.isFinite(scaleOf(attrs))) throw new GridError('BAD_MODEL', 'FusedAttention needs a scale');
}

/** Sizes of a call: rows (batch x heads), queries, keys, width. */
function sizes(q: HostTensor, k: HostTensor) {
  const [b, h, t, d] = q.shape;
  return { rows: b * h, t, tk: k.shape[2], d };
}

const dot = (a: Float32Array, ao: number, b: Float32Array, bo: number, d: number) => {
  let s = 0;
  for (let x = 0; x < d; x++) s += a[ao + x] * b[bo + x];
  return s;
};

/** The keys row i sees: all of them, or 0..i when causal. */
const seen = (i: number, tk: number, causal: boolean) => (causal ? i + 1 : tk);

export const FusedAttention: OpDef = {
  name: 'FusedAttention',
  gpu: { kind: 'attention', part: 'forward' },
  shape: (inputs, attrs) => {
    check(inputs, attrs);
    return [inputs[0], inputs[0].slice(0, 3)];
  },
  cpu: ([q, k, v], attrs) => {
    const { rows, t, tk, d } = sizes(q, k);
    const [scale, causal] = [scaleOf(attrs), causalOf(attrs)];
    const y = new Float32Array(q.data.length);
    const lse = new Float32Array(rows * t);
    const s = new Float64Array(tk);
    for (let r = 0; r < rows; r++)
      for (let i = 0; i < t; i++) {
        const [qo, ko, n] = [(r * t + i) * d, r * tk * d, seen(i, tk, causal)];
        for (let j = 0; j < n; j++) s[j] = scale * dot(q.data, qo, k.data, ko + j * d, d);
        let max = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < n; j++) max = Math.max(max, s[j]);
        let sum = 0;
        for (let j = 0; j < n; j++) {
          s[j] = Math.exp(s[j] - max);
          sum += s[j];
        }
        for (let j = 0; j < n; j++) for (let x = 0; x < d; x++) y[qo + x] += (s[j] / sum) * v.data[ko + j * d + x];
        lse[r * t + i] = max + Math.log(sum);
      }
    return [
      { shape: q.shape, data: y },
      { shape: q.shape.slice(0, 3), data: lse },
    ];
  },
  backward: ({ g, node, dOutputs: [dy, dLse] }) => {
    if (!dy && !dLse) return [undefined, undefined, undefined];
    const [y, lse] = node.outputs;
    if (!lse) throw new GridError('UNSUPPORTED_OP', 'FusedAttention without its log-sum-exp output has no gradient');
    const inputs = [...node.inputs, y, lse, dy ?? g.op('ExpandAs', [g.constant(0), y]), ...(dLse ? [dLse] : [])];
    return g.ops('FusedAttentionGrad', inputs, node.attrs, 3);
  },
  onnx: (w, n) => {
    const [q, k, v] = n.inputs;
    const scores = maskedScores(w, q, k, n.attrs);
    const p = w.node('Softmax', [scores], { axis: -1 }, n.outputs[1] ? [softmaxOf(n.outputs[1])] : undefined);
    if (n.outputs[1]) w.node('ReduceLogSumExp', [scores], { axes: [-1], keepdims: 0 }, [n.outputs[1]]);
    w.node('MatMul', [p, v], {}, [n.outputs[0]]);
  },
};

/**
 * dq, dk, dv from q, k, v, the forward's y and log-sum-exp, dy (and the log-sum-exp's own gradient, when it has
 * one): with p = exp(s - lse) rebuilt, dv = pᵀ dy, ds = p (dy vᵀ - Σ dy·y + dlse), dq = scale ds k, dk = scale dsᵀ q.
 */
export const FusedAttentionGrad: OpDef = {
  name: 'FusedAttentionGrad',
  gpu: { kind: 'attention', part: 'backward' },
  shape: ([q, k, v]) => [q, k, v],
  cpu: ([q, k, v, y, lse, dy, dLse], attrs) => {
    const { rows, t, tk, d } = sizes(q, k);
    const [scale, causal] = [scaleOf(attrs), causalOf(attrs)];
    const [dq, dk, dv] = [q, k, v].map((x) => new Float32Array(x.data.length));
    for (let r = 0; r < rows; r++)
      for (let i = 0; i < t; i++) {
        const [qo, ko, row] = [(r * t + i) * d, r * tk * d, r * t + i];
        const rowDot = dot(dy.data, qo, y.data, qo, d) - (dLse ? dLse.data[row] : 0);
        for (let j = 0; j < seen(i, tk, causal); j++) {
          const jo = ko + j * d;
          const p = Math.exp(scale * dot(q.data, qo, k.data, jo, d) - lse.data[row]);
          const ds = p * (dot(dy.data, qo, v.data, jo, d) - rowDot);
          for (let x = 0; x < d; x++) {
            dv[jo + x] += p * dy.data[qo + x];
            dq[qo + x] += scale * ds * k.data[jo + x];
            dk[jo + x] += scale * ds * q.data[qo + x];
          }
        }
      }
    return [dq, dk, dv].map((data, i) => ({ shape: [q, k, v][i].shape, data }));
  },
  onnx: (w, n) => {
    const [q, k, v, y, lse, dy, dLse] = n.inputs;
    const p = softmaxOf(lse); // onnxruntime keeps the forward's softmax: recomputing it costs more there than it saves
    let rowDot = w.node('ReduceSum', [w.node('Mul', [dy, y]), w.ints([-1])], { keepdims: 1 });
    if (dLse) rowDot = w.node('Sub', [rowDot, w.node('Unsqueeze', [dLse, w.ints([-1])])]);
    const ds = w.node('Mul', [p, w.node('Sub', [w.node('MatMul', [dy, swapLast(w, v)]), rowDot])]);
    const scale = w.floats([scaleOf(n.attrs)]);
    w.node('Mul', [w.node('MatMul', [ds, k]), scale], {}, [n.outputs[0]]);
    w.node('Mul', [w.node('MatMul', [swapLast(w, ds), q]), scale], {}, [n.outputs[1]]);
    w.node('MatMul', [swapLast(w, p), dy], {}, [n.outputs[2]]);
  },
};

/** The forward's softmax, named after its log-sum-exp output so that the backward's ONNX can read it by name. */
const softmaxOf = (lse: string) => `${lse}.softmax`;

const swapLast = (w: OnnxWriter, x: string) => w.node('Transpose', [x], { perm: [0, 1, 3, 2] });

/** scale q kᵀ, plus the causal mask when asked: a constant for a fixed length, built from q's length for a symbolic one. */
function maskedScores(w: OnnxWriter, q: string, k: string, attrs: Attrs): string {
  const scores = w.node('Mul', [w.node('MatMul', [q, swapLast(w, k)]), w.floats([scaleOf(attrs)])]);
  return causalOf(attrs) ? w.node('Add', [scores, causalMask(w, q)]) : scores;
}

function causalMask(w: OnnxWriter, q: string): string {
  const t = w.shapeOf(q)[2];
  if (typeof t === 'number') {
    const mask = Array.from({ length: t * t }, (_, at) => (at % t > Math.floor(at / t) ? MASKED : 0));
    return w.node('Reshape', [w.floats(mask), w.ints([t, t])]);
  }
  // A symbolic length (an export for any length): ones below the diagonal by Trilu, the rest MASKED.
  const length = w.node('Slice', [w.node('Shape', [q]), w.ints([2]), w.ints([3])]);
  const ones = w.node('Expand', [w.floats([1]), w.node('Concat', [length, length], { axis: 0 })]);
  return w.node('Mul', [w.node('Sub', [w.node('Trilu', [ones], { upper: 0 }), w.floats([1])]), w.floats([-MASKED])]);
}
