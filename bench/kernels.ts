import { resolve } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { createServer } from 'vite';
import { CpuBackend } from '../kernels/cpu/backend';
import { kernelsEngine } from '../kernels/engine';
import { GpuBackend } from '../kernels/gpu/backend';
import { openDawn } from '../kernels/gpu/dawn';
import { tuneMatmul } from '../kernels/gpu/matmul-tune';
import { onnxEngine } from '../kernels/onnx/engine';
import { launchChromium } from '../test/browser';
import { measure } from '../worker/engine-choice';
import { BENCH_CNN, BENCH_MLP, GPT_ROWS, ourMatmulGflops } from './workloads';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const r = (x: number) => x.toFixed(x < 10 ? 2 : 0);

/** Ours against TensorFlow.js on the same Chromium adapter, then ours through Dawn in Node. */
export async function benchKernels() {
  const server = await createServer({
    configFile: false,
    root: resolve(import.meta.dirname, '..'),
    logLevel: 'error',
    server: { port: 0, host: '127.0.0.1', headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } },
  });
  await server.listen();
  const { port } = server.httpServer!.address() as { port: number };
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.on('console', (m) => m.type() === 'error' && console.error(`page: ${m.text()}`));
    await page.goto(`http://127.0.0.1:${port}/bench/browser/kernels.html`);
    await page.waitForFunction('window.ready === true', { timeout: 120_000 });
    const b = (await page.evaluate(`window.runBench(${SECONDS})`)) as Record<string, number> & { adapter: string; matmulVariant: string };
    console.log(`Chromium WebGPU adapter: ${b.adapter} (our matmul: ${b.matmulVariant})`);
    console.log(
      `matmul 1024^3 GFLOP/s: ours as tuned (${b.matmulVariant}) ${r(b.oursMatmul1024)} | register ${r(b.registerMatmul1024)} | tiled ${r(b.tiledMatmul1024)}`,
    );
    console.log(`MLP 784-256-128-10, batch 256, samples/s: ours ${r(b.oursMlp)} | tfjs-webgpu ${r(b.tfWebgpuMlp)} | tfjs-wasm ${r(b.tfWasmMlp)}`);
    console.log(
      `  ratio ours / tfjs-webgpu: ${(b.oursMlp / b.tfWebgpuMlp).toFixed(2)} (target >= 1.5), ours / tfjs-wasm: ${(b.oursMlp / b.tfWasmMlp).toFixed(2)}`,
    );
    console.log(
      `  onnxruntime-web: ort-webgpu ${r(b.ortWebgpuMlp)} | ort-wasm (${b.ortThreads} threads) ${r(b.ortWasmMlp)}; best browser engine / tfjs-wasm: ` +
        `${(Math.max(b.oursMlp, b.ortWebgpuMlp, b.ortWasmMlp) / b.tfWasmMlp).toFixed(2)} (target >= 5)`,
    );
    console.log(`CNN conv8-pool-conv16-pool-dense, batch 64, samples/s: ours ${r(b.oursCnn)} | tfjs-webgpu ${r(b.tfWebgpuCnn)} | tfjs-cpu ${r(b.tfCpuCnn)}`);
    console.log(`  onnxruntime-web: ort-webgpu ${r(b.ortWebgpuCnn)} | ort-wasm (${b.ortThreads} threads) ${r(b.ortWasmCnn)}`);
    console.log(
      `  ratio ours / tfjs-webgpu: ${(b.oursCnn / b.tfWebgpuCnn).toFixed(2)} (target >= 1.5), ours / tfjs-cpu: ${(b.oursCnn / b.tfCpuCnn).toFixed(2)}`,
    );
    const [ours, wasm, webgpu] = (await page.evaluate(`window.runGptBench(${SECONDS})`)) as number[];
    const [name, , batch] = GPT_ROWS[0];
    console.log(
      `${name}, batch ${batch}, Chromium, training tokens/s: ours ${r(ours)} | ort-wasm (${b.ortThreads} threads) ${r(wasm)} | ort-webgpu ${r(webgpu)}`,
    );
  } finally {
    await browser.close();
    await server.close();
  }
  const gpu = await openDawn((process.env.DAWN_BACKEND as 'vulkan') ?? 'auto');
  const dawn = new GpuBackend(gpu);
  await tuneMatmul(dawn); // as a native worker does when it opens the device
  console.log(`Dawn (Node) adapter: ${dawn.adapter} (our matmul: ${dawn.matmulVariant})`);
  const old = async (v: 'register' | 'tiled') => r(await ourMatmulGflops(new GpuBackend(gpu, v), 1024, SECONDS));
  console.log(
    `matmul 1024^3 GFLOP/s, Dawn: ours as tuned ${r(await ourMatmulGflops(dawn, 1024, SECONDS))} | register ${await old('register')} | tiled ${await old('tiled')}`,
  );
  // Every engine a native worker has, on the same models and batches, in this process.
  const engines = [
    kernelsEngine(dawn),
    onnxEngine(ortNode, 'cpu', 'ort-node', 'onnxruntime-node cpu'),
    onnxEngine(ortWeb, 'wasm', `ort-wasm ${ortWeb.env.wasm.numThreads ?? 1}t`, 'onnxruntime-web wasm in Node'),
    kernelsEngine(new CpuBackend()),
  ];
  for (const [name, spec, batch] of [
    ['MLP 784-256-128-10', BENCH_MLP, 256],
    ['CNN conv8-pool-conv16-pool-dense', BENCH_CNN, 64],
  ] as const) {
    const rates = [];
    for (const e of engines) rates.push({ engine: e.name === 'webgpu' ? 'ours-dawn' : e.name, rate: await measure(e, spec, SECONDS * 1000, batch) });
    const dawnRate = rates[0].rate;
    const best = rates.reduce((a, b) => (b.rate > a.rate ? b : a));
    console.log(`${name}, batch ${batch}, Node, samples/s: ${rates.map((x) => `${x.engine} ${r(x.rate)}`).join(' | ')}`);
    console.log(`  best native engine ${best.engine} / ours-dawn: ${(best.rate / dawnRate).toFixed(1)}x (target >= 20x on the MLP)`);
  }
  // The GPTs on every native engine but the CPU reference (seconds a sample at this size).
  for (const [name, spec, batch, tokens] of GPT_ROWS) {
    const rates = [];
    for (const e of engines.slice(0, 3))
      rates.push(`${e.name === 'webgpu' ? 'ours-dawn' : e.name} ${r(tokens * (await measure(e, spec, SECONDS * 1000, batch)))}`);
    console.log(`${name}, batch ${batch}, Node, training tokens/s: ${rates.join(' | ')}`);
  }
}
