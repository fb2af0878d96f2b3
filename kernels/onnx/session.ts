import type { Ort } from './engine';

/** A registered ONNX model opened on one engine: feeds one float input, reads one output. */
export interface ModelSession {
  run(input: string, x: Float32Array, shape: number[], output: string): Promise<Float32Array>;
  release(): void;
}

/** An engine that runs arbitrary ONNX files (an uploaded model); `name` is what the worker reports as its provider. */
export interface InferenceEngine {
  readonly name: string;
  open(model: Uint8Array): Promise<ModelSession>;
}

/** onnxruntime with exactly one execution provider: a model that cannot run there fails to open, never moves silently. */
export function onnxInference(ort: Ort, provider: string, name: string): InferenceEngine {
  return {
    name,
    async open(model) {
      const session = await ort.InferenceSession.create(model, { executionProviders: [provider], graphOptimizationLevel: 'all' });
      return {
        async run(input, x, shape, output) {
          const out = await session.run({ [input]: new ort.Tensor('float32', x, shape) }, [output]);
          const data = out[output].data;
          if (!(data instanceof Float32Array)) throw new Error(`output ${output} is ${out[output].type}, not float32`);
          return data;
        },
        release: () => void session.release(),
      };
    },
  };
}
