import { sizeOf } from '../../protocol/model';
import type { Activation, Backend, Conv2dDims, Tensor } from '../backend';
import { CpuBackend } from '../cpu/backend';
import { KERNEL_CASES, type KernelCase } from './cases';

export interface CaseResult {
  name: string;
  ok: boolean;
  maxError: number;
  detail?: string;
}

/** Deterministic pseudo-random inputs so every tier sees the same numbers. */
function materialize(c: KernelCase): Record<string, { shape: number[]; data: Float32Array }> {
  let s = 12345;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 4294967296) * 2 - 1;
  };
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, v] of Object.entries(c.inputs)) {
    const n = sizeOf(v.shape);
    const classes = c.inputs.logits?.shape[1] ?? 2;
    const data =
      v.data === 'random'
        ? Float32Array.from({ length: n }, next)
        : v.data === 'labels'
          ? Float32Array.from({ length: n }, (_, i) => (i * 7) % classes)
          : Float32Array.from(v.data);
    out[k] = { shape: v.shape, data };
  }
  return out;
}

/** Run one case's op on a backend and read every output back. */
export async function execute(b: Backend, c: KernelCase): Promise<Record<string, Float32Array>> {
  const inp = materialize(c);
  const t = (k: string) => (k === 'labels' ? b.uploadLabels(Uint32Array.from(inp[k].data)) : b.upload(inp[k].data, inp[k].shape, k));
  const a = (c.attrs ?? {}) as Record<string, never>;
  const outs: Record<string, Tensor> = {};
  switch (c.op) {
    case 'matmul':
      outs.out = b.matmul(t('a'), t('b'), Boolean(a.transA), Boolean(a.transB));
      break;
    case 'biasAdd':
      outs.out = t('x');
      b.addBias(outs.out, t('bias'));
      break;
    case 'activation':
      outs.out = b.activation(t('x'), a.kind as Activation);
      break;
    case 'biasActivation':
      outs.x = t('x');
      outs.out = b.biasActivation(outs.x, t('bias'), a.kind as Activation);
      break;
    case 'activationBackwardSum':
      Object.assign(outs, b.activationBackwardSum(t('dy'), t('x'), a.kind as Activation));
      break;
    case 'activationBackward':
      outs.out = b.activationBackward(t('dy'), t('x'), a.kind as Activation);
      break;
    case 'softmaxCrossEntropy':
      Object.assign(outs, b.softmaxCrossEntropy(t('logits'), t('labels')));
      break;
    case 'sumRows':
      outs.out = b.sumRows(t('x'));
      break;
    case 'conv2d':
      outs.out = b.conv2d(t('x'), t('w'), t('b'), a as unknown as Conv2dDims);
      break;
    case 'conv2dBackward':
      Object.assign(outs, b.conv2dBackward(t('dy'), t('x'), t('w'), a as unknown as Conv2dDims));
      break;
    case 'maxPool2':
      Object.assign(outs, b.maxPool2(t('x'), a.planes, a.h, a.w));
      break;
    case 'maxPool2Backward':
      outs.out = b.maxPool2Backward(t('dy'), t('argmax'), a.planes, a.h, a.w);
      break;
    case 'sgdStep':
      outs.p = t('p');
      outs.v = t('v');
      b.sgdStep(outs.p, t('g'), outs.v, a.lr, a.momentum, a.weightDecay);
      break;
    case 'adamwStep':
      outs.p = t('p');
      outs.m = t('m');
      outs.v = t('v');
      b.adamwStep(outs.p, t('g'), outs.m, outs.v, a as never);
      break;
  }
  const result: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(outs)) result[k] = await b.read(v);
  return result;
}

/** Every case on `backend`: against its literal expectation, or against the CPU reference for random cases. */
export async function runKernelCases(backend: Backend, cases: KernelCase[] = KERNEL_CASES): Promise<CaseResult[]> {
  const cpu = new CpuBackend();
  const results: CaseResult[] = [];
  for (const c of cases) {
    try {
      const got = await execute(backend, c);
      const want = c.expected ? Object.fromEntries(Object.entries(c.expected).map(([k, v]) => [k, Float32Array.from(v)])) : await execute(cpu, c);
      let maxError = 0;
      let detail: string | undefined;
      for (const [k, w] of Object.entries(want)) {
        const g = got[k];
        if (!g || g.length !== w.length) {
          detail = `${k}: got ${g?.length} values, want ${w.length}`;
          maxError = Infinity;
          continue;
        }
        for (let i = 0; i < w.length; i++) {
          const err = Math.abs(g[i] - w[i]) / Math.max(1, Math.abs(w[i]));
          if (!(err <= maxError)) {
            maxError = Number.isNaN(err) ? Infinity : err;
            detail = `${k}[${i}]: got ${g[i]}, want ${w[i]}`;
          }
        }
      }
      results.push({ name: c.name, ok: maxError <= (c.tol ?? 1e-4), maxError, detail });
    } catch (e) {
      results.push({ name: c.name, ok: false, maxError: Infinity, detail: String((e as Error).stack ?? e) });
    }
  }
  return results;
}
