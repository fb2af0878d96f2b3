import * as ort from 'onnxruntime-node';
import { inferenceGraph } from '../../kernels/onnx/models';
import type { DatasetManifest } from '../../protocol/dataset';
import { GridError } from '../../protocol/errors';
import { inputSize, type ModelSpec, outputPositions } from '../../protocol/model';
import { int, num, obj, opt, str, withDefault } from '../../protocol/schema';
import { textCodec } from '../data/text-tokenizer';

/** `POST /api/jobs/:id/generate`: a prompt continued by the job's model, sampled at `temperature` from its `topK` likeliest. */
export const generateRequest = obj({
  prompt: str(10_000),
  maxTokens: withDefault(int(1, 1024), 100),
  temperature: withDefault(num(0, 5), 0.8),
  topK: opt(int(1, 1 << 16)),
  seed: withDefault(int(0, 2 ** 31), 1),
  round: opt(int(0)),
});

interface Request {
  prompt: string;
  maxTokens: number;
  temperature: number;
  topK?: number;
  seed: number;
}

/**
 * Continue `prompt` with a language model trained on a character-level data set, a token at a time: the context (its
 * last block) sits at the block's first positions, the rest padded, and the next token is drawn from the logits at
 * the context's last position (causal attention: padding after it changes nothing). Temperature 0 takes the likeliest.
 */
export async function generate(model: ModelSpec, params: Float32Array, data: DatasetManifest, r: Request): Promise<string> {
  return (await generateEach(model, params, data, [r]))[0];
}

/** Several continuations (generate's, each) from one session of the model: building it costs more than a short text. */
export async function generateEach(model: ModelSpec, params: Float32Array, data: DatasetManifest, requests: Request[]): Promise<string[]> {
  const codec = data.tokenizer && textCodec(data.tokenizer);
  const block = outputPositions(model);
  if (!codec || !block) throw new GridError('BAD_REQUEST', 'generation needs a language model trained on a text data set');
  const prompts = requests.map((r) => codec.encode(r.prompt));
  if (prompts.some((tokens) => !tokens.length)) throw new GridError('BAD_REQUEST', 'the prompt is empty');
  const session = await ort.InferenceSession.create(inferenceGraph(model, params));
  try {
    const texts: string[] = [];
    for (const [i, r] of requests.entries()) {
      const tokens = prompts[i];
      const random = seeded(r.seed);
      const out: number[] = [];
      for (let n = 0; n < r.maxTokens; n++) {
        const context = tokens.slice(-block);
        const input = new Float32Array(inputSize(model));
        input.set(context);
        const logits = (await session.run({ input: new ort.Tensor('float32', input, [1, input.length]) })).logits.data as Float32Array;
        const next = sample(logits.subarray((context.length - 1) * codec.size, context.length * codec.size), r, random);
        tokens.push(next);
        out.push(next);
      }
      texts.push(codec.decode(out));
    }
    return texts;
  } finally {
    await session.release();
  }
}

function sample(logits: Float32Array, r: Request, random: () => number): number {
  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
  if (r.temperature === 0) return order[0];
  const kept = order.slice(0, r.topK ?? order.length);
  const weights = kept.map((i) => Math.exp((logits[i] - logits[order[0]]) / r.temperature));
  let u = random() * weights.reduce((a, b) => a + b, 0);
  for (let k = 0; k < kept.length; k++) {
    u -= weights[k];
    if (u <= 0) return kept[k];
  }
  return kept[kept.length - 1];
}

/** A small seeded generator (xorshift32): the same request gives the same text. */
function seeded(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}
