import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as ortJsep from 'onnxruntime-web';
import * as ortWasm from 'onnxruntime-web/wasm';
import { GpuBackend } from '../../kernels/gpu/backend';
import { openGpu } from '../../kernels/gpu/device';
import { tuneMatmul } from '../../kernels/gpu/matmul-tune';
import { onnxEngine } from '../../kernels/onnx/engine';
import { measure } from '../../worker/engine-choice';
import { BENCH_CNN, BENCH_MLP, GPT_ROWS, ourMatmulGflops, ourStepRate } from '../workloads';

setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
// As in the volunteer's worker (web-worker-client/engines.ts): the plain build for wasm, the JSEP build for webgpu.
// wasm threads need a cross-origin isolated page (the bench server sends COOP and COEP).
for (const ort of [ortWasm, ortJsep]) {
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  ort.env.wasm.numThreads = self.crossOriginIsolated ? navigator.hardwareConcurrency : 1;
}

/** onnxruntime-web on one provider; 0 (and the error on the console) where the provider cannot run here. */
const ortRate = (provider: 'wasm' | 'webgpu', spec: typeof BENCH_MLP, batch: number, seconds: number) =>
  measure(onnxEngine(provider === 'wasm' ? ortWasm : ortJsep, provider, `ort-${provider}`, provider), spec, seconds * 1000, batch).catch((e) => {
    console.error(`ort-${provider}: ${e}`);
    return 0;
  });

/** The same training step in TensorFlow.js: forward, softmax cross-entropy, gradients of every weight, read back. */
function tfjsStep(kind: 'mlp' | 'cnn', batch: number) {
  const x = tf.randomUniform(kind === 'mlp' ? [batch, 784] : [batch, 28, 28, 1]);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10);
  const he = (shape: number[], fanIn: number) => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn)));
  const vars =
    kind === 'mlp'
      ? [he([784, 256], 784), tf.variable(tf.zeros([256])), he([256, 128], 256), tf.variable(tf.zeros([128])), he([128, 10], 128), tf.variable(tf.zeros([10]))]
      : [
          he([5, 5, 1, 8], 25),
          tf.variable(tf.zeros([8])),
          he([5, 5, 8, 16], 200),
          tf.variable(tf.zeros([16])),
          he([7 * 7 * 16, 10], 784),
          tf.variable(tf.zeros([10])),
        ];
  const loss = () => {
    let h: tf.Tensor;
    if (kind === 'mlp') {
      h = tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, vars[0] as tf.Tensor2D), vars[1]));
      h = tf.relu(tf.add(tf.matMul(h as tf.Tensor2D, vars[2] as tf.Tensor2D), vars[3]));
    } else {
      h = tf.maxPool(tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, vars[0] as tf.Tensor4D, 1, 'same'), vars[1])) as tf.Tensor4D, 2, 2, 'valid');
      h = tf.maxPool(tf.relu(tf.add(tf.conv2d(h as tf.Tensor4D, vars[2] as tf.Tensor4D, 1, 'same'), vars[3])) as tf.Tensor4D, 2, 2, 'valid');
      h = tf.reshape(h, [batch, 7 * 7 * 16]);
    }
    const logits = tf.add(tf.matMul(h as tf.Tensor2D, vars[4] as tf.Tensor2D), vars[5]);
    return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
  };
  return async () => {
    const { value, grads } = tf.variableGrads(loss);
    await Promise.all(Object.values(grads).map((g) => g.data()));
    tf.dispose([value, ...Object.values(grads)]);
  };
}

async function tfjsRate(backend: string, kind: 'mlp' | 'cnn', batch: number, seconds: number) {
  await tf.setBackend(backend);
  await tf.ready();
  const step = tfjsStep(kind, batch);
  await step();
  let steps = 0;
  const t0 = performance.now();
  while (steps < 2 || performance.now() - t0 < seconds * 1000) {
    await step();
    steps++;
  }
  return (steps * batch) / ((performance.now() - t0) / 1000);
}

(window as unknown as { runBench: unknown }).runBench = async (seconds: number) => {
  const gpu = await openGpu(navigator.gpu, (m) => console.error(m));
  const ours = new GpuBackend(gpu);
  await tuneMatmul(ours); // as a volunteer's worker does when it opens the device
  const out: Record<string, unknown> = { adapter: ours.adapter, matmulVariant: ours.matmulVariant };
  out.oursMatmul1024 = await ourMatmulGflops(ours, 1024, seconds);
  out.registerMatmul1024 = await ourMatmulGflops(new GpuBackend(gpu, 'register'), 1024, seconds);
  out.tiledMatmul1024 = await ourMatmulGflops(new GpuBackend(gpu, 'tiled'), 1024, seconds);
  out.oursMlp = await ourStepRate(ours, BENCH_MLP, 256, seconds);
  out.oursCnn = await ourStepRate(ours, BENCH_CNN, 64, seconds);
  // tfjs's WebGPU backend opens its own device on the same adapter.
  out.tfWebgpuMlp = await tfjsRate('webgpu', 'mlp', 256, seconds);
  out.tfWebgpuCnn = await tfjsRate('webgpu', 'cnn', 64, seconds);
  out.tfWasmMlp = await tfjsRate('wasm', 'mlp', 256, seconds);
  out.tfCpuCnn = await tfjsRate('cpu', 'cnn', 64, seconds); // tfjs-wasm has no conv backprop kernels
  out.ortThreads = ortWasm.env.wasm.numThreads;
  out.ortWasmMlp = await ortRate('wasm', BENCH_MLP, 256, seconds);
  out.ortWebgpuMlp = await ortRate('webgpu', BENCH_MLP, 256, seconds);
  out.ortWasmCnn = await ortRate('wasm', BENCH_CNN, 64, seconds);
  out.ortWebgpuCnn = await ortRate('webgpu', BENCH_CNN, 64, seconds);
  return out;
};
/**
 * Training tokens/s of nanoGPT's CPU configuration: ours, onnxruntime-web wasm and webgpu. The 10.7M one is timed in
 * Node only: on a software GPU one of its steps takes tens of seconds.
 */
(window as unknown as { runGptBench: unknown }).runGptBench = async (seconds: number) => {
  const ours = new GpuBackend(await openGpu(navigator.gpu, (m) => console.error(m)));
  await tuneMatmul(ours);
  const [, spec, batch, tokens] = GPT_ROWS[0];
  const rates = [await ourStepRate(ours, spec, batch, seconds), await ortRate('wasm', spec, batch, seconds), await ortRate('webgpu', spec, batch, seconds)];
  return rates.map((rate) => rate * tokens);
};
(window as unknown as { ready: boolean }).ready = true;
