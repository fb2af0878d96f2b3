import { gatherBatch } from '../../protocol/dataset';
import type { ModelSpec } from '../../protocol/model';
import type { LoadedDataset } from '../data/datasets';
import { textCodec } from '../data/text-tokenizer';
import { generateEach } from './generate';

/**
 * What a language model writes at each evaluation: a continuation of the first tokens of a few validation blocks,
 * seeded, so two evaluations differ by the model alone. Short: a token costs the coordinator a forward pass.
 */
export const TEXT_SAMPLES = { count: 2, promptTokens: 8, sampling: { maxTokens: 64, temperature: 0.8, topK: 20 } };

export interface TextSample {
  prompt: string;
  text: string;
}

/** The samples of a model trained on the text data set `evalData` (its validation split); none for other data. */
export async function textSamples(model: ModelSpec, params: Float32Array, evalData: LoadedDataset): Promise<TextSample[]> {
  const { manifest, chunks } = evalData;
  if (!manifest.tokenizer || !manifest.samples) return [];
  const codec = textCodec(manifest.tokenizer);
  const blocks = Array.from({ length: Math.min(TEXT_SAMPLES.count, manifest.samples) }, (_, i) => Math.floor((i * manifest.samples) / TEXT_SAMPLES.count));
  const prompts = blocks.map((block) => codec.decode(Array.from(gatherBatch(manifest, (c) => chunks[c], [block]).x.subarray(0, TEXT_SAMPLES.promptTokens))));
  const texts = await generateEach(
    model,
    params,
    manifest,
    prompts.map((prompt, i) => ({ prompt, ...TEXT_SAMPLES.sampling, seed: i + 1 })),
  );
  return prompts.map((prompt, i) => ({ prompt, text: texts[i] }));
}
