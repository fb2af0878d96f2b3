import type { Ort } from './engine';

/** A registered ONNX model opened on one engine: feeds one float input, reads one output. */
export interface ModelSession {
  run(input: string, x: Float32Array, shape: number[], output: string): Promise<Float32Array>;
  release(): void;
}

/** How an inference job feeds its model: the tensors' names, the input's shape (-1 for a free batch), values out per sample. */
export interface FeedPlan {
  model: { input: string; output: string };
  inputShape: number[];
  outputWidth: number;
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

/**
 * Feed `n` samples through the model: all at once when its batch dimension is free, else that many at a time (the
 * last run padded with zeros, its extra rows dropped). Returns `n` rows of `outputWidth` values.
 */
export async function runBatched(session: ModelSession, a: FeedPlan, x: Float32Array, n: number): Promise<Float32Array> {
  const per = x.length / n;
  const step = a.inputShape[0] > 0 ? a.inputShape[0] : n; // a fixed batch dimension, or all at once
  const out = new Float32Array(n * a.outputWidth);
  for (let s = 0; s < n; s += step) {
    let chunk = x.subarray(s * per, Math.min(n, s + step) * per);
    if (chunk.length < step * per) {
      const padded = new Float32Array(step * per);
      padded.set(chunk);
      chunk = padded;
    }
    const y = await session.run(a.model.input, chunk, [step, ...a.inputShape.slice(1)], a.model.output);
    if (y.length !== step * a.outputWidth) throw new Error(`model gave ${y.length} outputs for ${step} samples; the job expects ${a.outputWidth} each`);
    out.set(y.subarray(0, Math.min(step, n - s) * a.outputWidth), s * a.outputWidth);
  }
  return out;
}
