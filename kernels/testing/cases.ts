// Kernel test cases as data: inputs, attributes and expected outputs. Small cases carry hand-checkable expectations;
// `random` cases have none and are compared against the CPU reference backend by the runner.

export interface KernelCase {
  name: string;
  op:
    | 'matmul'
    | 'biasAdd'
    | 'activation'
    | 'biasActivation'
    | 'activationBackward'
    | 'activationBackwardSum'
    | 'softmaxCrossEntropy'
    | 'sumRows'
    | 'conv2d'
    | 'conv2dBackward'
    | 'maxPool2'
    | 'maxPool2Backward'
    | 'sgdStep'
    | 'adamwStep';
  inputs: Record<string, { shape: number[]; data: number[] | 'random' | 'labels' }>;
  attrs?: Record<string, number | string | boolean>;
  /** Expected outputs by name; absent for random cases. */
  expected?: Record<string, number[]>;
  tol?: number;
}

const rnd = (shape: number[]) => ({ shape, data: 'random' as const });

export const KERNEL_CASES: KernelCase[] = [
  {
    name: 'matmul 2x3 · 3x2',
    op: 'matmul',
    inputs: { a: { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }, b: { shape: [3, 2], data: [7, 8, 9, 10, 11, 12] } },
    expected: { out: [58, 64, 139, 154] },
  },
  {
    name: 'matmul Aᵀ·B',
    op: 'matmul',
    attrs: { transA: true },
    inputs: { a: { shape: [3, 2], data: [1, 4, 2, 5, 3, 6] }, b: { shape: [3, 2], data: [7, 8, 9, 10, 11, 12] } },
    expected: { out: [58, 64, 139, 154] },
  },
  {
    name: 'matmul A·Bᵀ',
    op: 'matmul',
    attrs: { transB: true },
    inputs: { a: { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }, b: { shape: [2, 3], data: [7, 9, 11, 8, 10, 12] } },
    expected: { out: [58, 64, 139, 154] },
  },
  { name: 'matmul ragged 67x33 · 33x45', op: 'matmul', inputs: { a: rnd([67, 33]), b: rnd([33, 45]) } },
  { name: 'matmul ragged Aᵀ·B 130x70', op: 'matmul', attrs: { transA: true }, inputs: { a: rnd([33, 130]), b: rnd([33, 70]) } },
  { name: 'matmul ragged A·Bᵀ 129x65', op: 'matmul', attrs: { transB: true }, inputs: { a: rnd([129, 40]), b: rnd([65, 40]) } },
  // Multiples of 4 but not of any tile: the vec4 kernels' path, with partial tiles on every edge.
  { name: 'matmul aligned ragged 132x68 · 68x196', op: 'matmul', inputs: { a: rnd([132, 68]), b: rnd([68, 196]) } },
  { name: 'matmul aligned ragged Aᵀ·B 196x132', op: 'matmul', attrs: { transA: true }, inputs: { a: rnd([36, 196]), b: rnd([36, 132]) } },
  { name: 'matmul aligned ragged A·Bᵀ 68x260', op: 'matmul', attrs: { transB: true }, inputs: { a: rnd([68, 44]), b: rnd([260, 44]) } },
  // Few tiles, deep K: the vec4 kernels cut K into slices and sum them (a weight gradient over a large batch).
  { name: 'matmul split-K 68x1028 · 1028x36', op: 'matmul', inputs: { a: rnd([68, 1028]), b: rnd([1028, 36]) }, tol: 1e-3 },
  { name: 'matmul split-K Aᵀ·B 132x68 over 1540', op: 'matmul', attrs: { transA: true }, inputs: { a: rnd([1540, 132]), b: rnd([1540, 68]) }, tol: 1e-3 },
  { name: 'matmul MLP layer 256x784 · 784x256', op: 'matmul', inputs: { a: rnd([256, 784]), b: rnd([784, 256]) }, tol: 1e-3 },
  {
    name: 'bias add',
    op: 'biasAdd',
    inputs: { x: { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }, bias: { shape: [3], data: [10, 20, 30] } },
    expected: { out: [11, 22, 33, 14, 25, 36] },
  },
  {
    name: 'bias and relu in one pass',
    op: 'biasActivation',
    attrs: { kind: 'relu' },
    inputs: { x: { shape: [2, 3], data: [1, -2, 3, -4, 5, -6] }, bias: { shape: [3], data: [-2, 1, 0.5] } },
    expected: { out: [0, 0, 3.5, 0, 6, 0], x: [-1, -1, 3.5, -6, 6, -5.5] },
  },
  { name: 'bias and gelu in one pass', op: 'biasActivation', attrs: { kind: 'gelu' }, inputs: { x: rnd([70, 33]), bias: rnd([33]) } },
  { name: 'relu', op: 'activation', attrs: { kind: 'relu' }, inputs: { x: { shape: [4], data: [-2, -0.5, 0.5, 3] } }, expected: { out: [0, 0, 0.5, 3] } },
  {
    name: 'tanh',
    op: 'activation',
    attrs: { kind: 'tanh' },
    inputs: { x: { shape: [3], data: [-1, 0, 2] } },
    expected: { out: [Math.tanh(-1), 0, Math.tanh(2)] },
  },
  {
    name: 'gelu',
    op: 'activation',
    attrs: { kind: 'gelu' },
    inputs: { x: { shape: [3], data: [-1, 0, 1] } },
    expected: { out: [-0.158808, 0, 0.841192] },
    tol: 1e-4,
  },
  {
    name: 'relu backward',
    op: 'activationBackward',
    attrs: { kind: 'relu' },
    inputs: { dy: { shape: [3], data: [5, 6, 7] }, x: { shape: [3], data: [-1, 0.5, 2] } },
    expected: { out: [0, 6, 7] },
  },
  {
    name: 'relu backward with its column sums',
    op: 'activationBackwardSum',
    attrs: { kind: 'relu' },
    inputs: { dy: { shape: [3, 2], data: [1, 2, 3, 4, 5, 6] }, x: { shape: [3, 2], data: [1, -1, -1, 1, 1, 1] } },
    expected: { dx: [1, 0, 0, 4, 5, 6], sum: [6, 10] },
  },
  {
    name: 'gelu backward with column sums over 300 rows',
    op: 'activationBackwardSum',
    attrs: { kind: 'gelu' },
    inputs: { dy: rnd([300, 7]), x: rnd([300, 7]) },
  },
  { name: 'gelu backward', op: 'activationBackward', attrs: { kind: 'gelu' }, inputs: { dy: rnd([300]), x: rnd([300]) } },
  { name: 'tanh backward', op: 'activationBackward', attrs: { kind: 'tanh' }, inputs: { dy: rnd([300]), x: rnd([300]) } },
  {
    name: 'softmax cross-entropy',
    op: 'softmaxCrossEntropy',
    inputs: { logits: { shape: [2, 3], data: [0, 0, 0, 1, 2, 3] }, labels: { shape: [2], data: [1, 2] } },
    expected: {
      loss: [Math.log(3), Math.log(1 + Math.exp(1) + Math.exp(2)) - 2],
      correct: [0, 1],
      dlogits: [1 / 6, 1 / 6 - 0.5, 1 / 6, ...softmaxGrad([1, 2, 3], 2, 2)],
    },
  },
  { name: 'softmax cross-entropy 300x10', op: 'softmaxCrossEntropy', inputs: { logits: rnd([300, 10]), labels: { shape: [300], data: 'labels' } } },
  { name: 'sum rows', op: 'sumRows', inputs: { x: { shape: [3, 2], data: [1, 2, 3, 4, 5, 6] } }, expected: { out: [9, 12] } },
  { name: 'sum rows 257x129', op: 'sumRows', inputs: { x: rnd([257, 129]) } },
  { name: 'sum rows 4100x10 (a workgroup per column)', op: 'sumRows', inputs: { x: rnd([4100, 10]) }, tol: 1e-3 },
  { name: 'sum rows 200x4100 (chunks of rows, then the chunks)', op: 'sumRows', inputs: { x: rnd([200, 4100]) }, tol: 1e-3 },
  {
    name: 'conv2d 3x3 same padding',
    op: 'conv2d',
    attrs: { batch: 1, inC: 1, h: 3, w: 3, outC: 1, k: 3 },
    inputs: {
      x: { shape: [1, 1, 3, 3], data: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
      w: { shape: [1, 1, 3, 3], data: [0, 0, 0, 0, 1, 0, 0, 0, 1] },
      b: { shape: [1], data: [0.5] },
    },
    expected: { out: [6.5, 8.5, 3.5, 12.5, 14.5, 6.5, 7.5, 8.5, 9.5] },
  },
  {
    name: 'conv2d 5x5 2x3x10x10 -> 4',
    op: 'conv2d',
    attrs: { batch: 2, inC: 3, h: 10, w: 10, outC: 4, k: 5 },
    inputs: { x: rnd([2, 3, 10, 10]), w: rnd([4, 3, 5, 5]), b: rnd([4]) },
  },
  {
    name: 'conv2d backward 3x3 5x2x6x6 -> 3',
    op: 'conv2dBackward',
    attrs: { batch: 5, inC: 2, h: 6, w: 6, outC: 3, k: 3 },
    inputs: { dy: rnd([5, 3, 6, 6]), x: rnd([5, 2, 6, 6]), w: rnd([3, 2, 3, 3]) },
  },
  {
    name: 'max pool 2x2',
    op: 'maxPool2',
    attrs: { planes: 1, h: 2, w: 4 },
    inputs: { x: { shape: [1, 2, 4], data: [1, 5, 2, 0, 3, 4, 8, 7] } },
    expected: { y: [5, 8], argmax: [1, 6] },
  },
  { name: 'max pool 6 planes 14x14', op: 'maxPool2', attrs: { planes: 6, h: 14, w: 14 }, inputs: { x: rnd([6, 14, 14]) } },
  {
    name: 'max pool backward',
    op: 'maxPool2Backward',
    attrs: { planes: 1, h: 2, w: 4 },
    inputs: { dy: { shape: [1, 1, 2], data: [10, 20] }, argmax: { shape: [1, 1, 2], data: [1, 6] } },
    expected: { out: [0, 10, 0, 0, 0, 0, 20, 0] },
  },
  {
    name: 'sgd momentum step',
    op: 'sgdStep',
    attrs: { lr: 0.1, momentum: 0.9, weightDecay: 0 },
    inputs: { p: { shape: [2], data: [1, 2] }, g: { shape: [2], data: [1, -1] }, v: { shape: [2], data: [1, 0] } },
    expected: { p: [0.81, 2.1], v: [1.9, -1] },
  },
  {
    name: 'adamw first step',
    op: 'adamwStep',
    attrs: { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1 },
    inputs: { p: { shape: [2], data: [1, -1] }, g: { shape: [2], data: [0.5, -2] }, m: { shape: [2], data: [0, 0] }, v: { shape: [2], data: [0, 0] } },
    // First bias-corrected step is lr * sign(g), plus decoupled decay lr * wd * p.
    expected: { p: [1 - 0.1 - 0.001, -1 + 0.1 + 0.001], m: [0.05, -0.2], v: [0.00025, 0.004] },
    tol: 1e-5,
  },
  {
    name: 'adamw random',
    op: 'adamwStep',
    attrs: { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 3 },
    inputs: { p: rnd([1000]), g: rnd([1000]), m: rnd([1000]), v: { shape: [1000], data: new Array(1000).fill(0.5) } },
  },
];

function softmaxGrad(z: number[], label: number, rows: number): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v, j) => (v / s - (j === label ? 1 : 0)) / rows);
}
