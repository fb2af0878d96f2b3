import * as ort from 'onnxruntime-web';
import jsepWasm from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import type { Backend } from '../kernels/backend';
import { type Engine, kernelsEngine } from '../kernels/engine';
import { onnxEngine } from '../kernels/onnx/engine';
import { type InferenceEngine, onnxInference } from '../kernels/onnx/session';

// The wasm binary ships with the app (vite copies it); threads only where the page is cross-origin isolated.
ort.env.wasm.wasmPaths = { wasm: jsepWasm };
ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;

/** What a volunteer's browser can run models on: our kernels on its GPU, onnxruntime-web on wasm, and on WebGPU. */
export function browserEngines(gpuBackend: Backend | undefined): Engine[] {
  const threads = ort.env.wasm.numThreads;
  const engines = [onnxEngine(ort, 'wasm', 'ort-wasm', `onnxruntime-web ${ort.env.versions.web} wasm, ${threads} thread(s)`)];
  if (gpuBackend) engines.unshift(kernelsEngine(gpuBackend), onnxEngine(ort, 'webgpu', 'ort-webgpu', `onnxruntime-web webgpu on ${gpuBackend.adapter}`));
  return engines;
}

/** What runs registered ONNX models in the browser: onnxruntime-web on WebGPU where there is a GPU, and on wasm. */
export function browserInference(hasGpu: boolean): InferenceEngine[] {
  const wasm = onnxInference(ort, 'wasm', `ort-web ${ort.env.versions.web} wasm`);
  return hasGpu ? [onnxInference(ort, 'webgpu', `ort-web ${ort.env.versions.web} webgpu`), wasm] : [wasm];
}
