import * as ortJsep from 'onnxruntime-web';
import jsepWasm from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import plainMjs from 'onnxruntime-web/ort-wasm-simd-threaded.mjs?url';
import plainWasm from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import * as ortWasm from 'onnxruntime-web/wasm';
import type { Backend } from '../kernels/backend';
import { type Engine, kernelsEngine } from '../kernels/engine';
import { onnxEngine } from '../kernels/onnx/engine';
import { type InferenceEngine, onnxInference } from '../kernels/onnx/session';

// Two builds of onnxruntime-web, each with its wasm binary shipped by the app (vite copies them): the plain build
// for the wasm provider (the JSEP build that carries the webgpu provider runs the same CPU kernels 1.3-1.9x slower,
// measured in Chromium here), the JSEP build for webgpu. Threads only where the page is cross-origin isolated.
const threads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
// The plain build's glue ships as its own file: bundled into this worker, it would start its threads from this script.
ortWasm.env.wasm.wasmPaths = { wasm: plainWasm, mjs: plainMjs };
ortJsep.env.wasm.wasmPaths = { wasm: jsepWasm };
ortWasm.env.wasm.numThreads = threads;
ortJsep.env.wasm.numThreads = threads;
const version = ortWasm.env.versions.web;

/** What a volunteer's browser can run models on: our kernels on its GPU, onnxruntime-web on wasm, and on WebGPU. */
export function browserEngines(gpuBackend: Backend | undefined): Engine[] {
  const engines = [onnxEngine(ortWasm, 'wasm', 'ort-wasm', `onnxruntime-web ${version} wasm, ${threads} thread(s)`)];
  if (gpuBackend) engines.unshift(kernelsEngine(gpuBackend), onnxEngine(ortJsep, 'webgpu', 'ort-webgpu', `onnxruntime-web webgpu on ${gpuBackend.adapter}`));
  return engines;
}

/** What runs registered ONNX models in the browser: onnxruntime-web on WebGPU where there is a GPU, and on wasm. */
export function browserInference(hasGpu: boolean): InferenceEngine[] {
  const wasm = onnxInference(ortWasm, 'wasm', `ort-web ${version} wasm`);
  return hasGpu ? [onnxInference(ortJsep, 'webgpu', `ort-web ${version} webgpu`), wasm] : [wasm];
}
