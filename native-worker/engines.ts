import * as ort from 'onnxruntime-node';
import type { Backend } from '../kernels/backend';
import { type Engine, kernelsEngine } from '../kernels/engine';
import { onnxEngine } from '../kernels/onnx/engine';
import { type InferenceEngine, onnxInference } from '../kernels/onnx/session';

/** What a native worker can run models on: onnxruntime-node's CPU provider, and our kernels on `backend`. */
export function nativeEngines(backend: Backend): Engine[] {
  return [onnxEngine(ort, 'cpu', 'ort-node', `onnxruntime-node ${ort.env.versions.node} cpu`), kernelsEngine(backend)];
}

/** What runs registered ONNX models (inference jobs) natively: onnxruntime-node's CPU provider. */
export const nativeInference = (): InferenceEngine[] => [onnxInference(ort, 'cpu', `ort-node ${ort.env.versions.node} cpu`)];
