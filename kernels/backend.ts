/** A tensor handle owned by one backend; float32 unless it holds labels. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  readonly dtype: 'f32' | 'u32';
}

export type Activation = 'relu' | 'gelu' | 'tanh';

export interface Conv2dDims {
  batch: number;
  inC: number;
  h: number;
  w: number;
  outC: number;
  k: number;
}

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count, for bias correction. */
  step: number;
}

/**
 * What a model needs from a device. The CPU reference backend and the WebGPU backend (browser or Dawn) implement it;
 * ops only record work, `read` is the one place that waits.
 */
export interface Backend {
  readonly name: string;
  /** Human-readable adapter description, printed by tests and benchmarks. */
  readonly adapter: string;
  upload(data: Float32Array, shape: readonly number[], label?: string): Tensor;
  uploadLabels(labels: Uint32Array): Tensor;
  /** Overwrite an existing tensor's contents (same size). */
  write(t: Tensor, data: Float32Array): void;
  read(t: Tensor): Promise<Float32Array>;
  /** Read several tensors into one flat array with a single wait. */
  readConcat(ts: readonly Tensor[]): Promise<Float32Array>;
  release(t: Tensor): void;
  /** Same storage, new shape (sizes must match); release the original only. */
  reshape(t: Tensor, shape: readonly number[]): Tensor;

  /** C[M,N] = op(A) · op(B), op = transpose when the flag is set; A is [M,K] (or [K,M]), B is [K,N] (or [N,K]). */
  matmul(a: Tensor, b: Tensor, transA?: boolean, transB?: boolean): Tensor;
  /** x[M,N] + bias[N], in place. */
  addBias(x: Tensor, bias: Tensor): void;
  activation(x: Tensor, kind: Activation): Tensor;
  /** x[M,N] += bias[N] in place (the pre-activation the backward reads), and act(x) returned: one pass over x. */
  biasActivation(x: Tensor, bias: Tensor, kind: Activation): Tensor;
  /** dL/dx given dL/dy and the activation's input x. */
  activationBackward(dy: Tensor, x: Tensor, kind: Activation): Tensor;
  /** The same for x [M,N], with its sum over rows [N] (the bias gradient of the layer below): one pass on a GPU. */
  activationBackwardSum(dy: Tensor, x: Tensor, kind: Activation): { dx: Tensor; sum: Tensor };
  /** Row-wise softmax cross-entropy: per-row loss [M], per-row correct flag [M], and dL/dlogits for the mean loss. */
  softmaxCrossEntropy(logits: Tensor, labels: Tensor): { loss: Tensor; correct: Tensor; dlogits: Tensor };
  /** Sum over rows: [M,N] -> [N]. */
  sumRows(x: Tensor): Tensor;
  /** "Same" padded stride-1 convolution, NCHW; weight [outC,inC,k,k], bias [outC]. */
  conv2d(x: Tensor, w: Tensor, b: Tensor, d: Conv2dDims): Tensor;
  conv2dBackward(dy: Tensor, x: Tensor, w: Tensor, d: Conv2dDims): { dx: Tensor; dw: Tensor; db: Tensor };
  /** 2x2 stride-2 max pool, NCHW; returns the argmax index (flat input index, as f32) for the backward pass. */
  maxPool2(x: Tensor, batchChannels: number, h: number, w: number): { y: Tensor; argmax: Tensor };
  maxPool2Backward(dy: Tensor, argmax: Tensor, planes: number, h: number, w: number): Tensor;
  /** In place: v = mu v + g + wd p; p -= lr v. */
  sgdStep(p: Tensor, g: Tensor, v: Tensor, lr: number, momentum: number, weightDecay: number): void;
  /** In place AdamW with decoupled weight decay. */
  adamwStep(p: Tensor, g: Tensor, m: Tensor, v: Tensor, h: AdamWHyper): void;
  /** Submit recorded work (GPU); a no-op on the CPU. */
  flush(): void;
  destroy(): void;
}
