import { inferenceGraph, languageModelOnnx } from '../../kernels/onnx/models';
import type { DatasetManifest } from '../../protocol/dataset';
import type { TrainingSpec } from '../../protocol/job';
import { inputSize } from '../../protocol/model';
import { huggingFaceJson } from '../data/text-tokenizer';

/**
 * A trained model as a standalone ONNX file: the inference graph with the weights as initializers, input `input`
 * [batch, features] float32, outputs `logits` and `probabilities` [batch, classes], and in `metadata_props` what
 * a user needs to feed it the way it was trained. A language model `outside` the grid is written as Hugging Face's
 * exports are: `input_ids` int64 [batch, sequence] to `logits` [batch, sequence, vocab] for any sequence up to its
 * block, its `tokenizer.json` in the metadata; inside (the model registry) it keeps the grid's fixed-block form.
 */
export function exportOnnx(
  job: { id: number; name: string; spec: TrainingSpec },
  round: number,
  params: Float32Array,
  data: DatasetManifest,
  outside = true,
): Uint8Array {
  const { featureDtype, featureScale, featureShape } = data;
  const metadata = {
    job: String(job.id),
    name: job.name,
    round: String(round),
    dataset: `${data.name}/${data.split}`,
    classes: String(data.classes),
    model: JSON.stringify(job.spec.model),
  };
  const model = job.spec.model;
  if (outside && data.tokenizer && model.kind === 'layers' && model.layers[0]?.type === 'embedding') {
    const preprocessing = `input_ids = the token ids tokenizer.json gives, at most ${model.input[0]} per sequence`;
    return languageModelOnnx(model, params, { ...metadata, preprocessing, 'tokenizer.json': huggingFaceJson(data.tokenizer) });
  }
  const preprocessing =
    `input = ${featureDtype === 'u8' ? 'uint8 pixel' : 'float32 feature'} values × ${featureScale}, ` +
    `${inputSize(model)} per sample, flattened row-major from shape [${featureShape.join(', ')}]`;
  return inferenceGraph(model, params, { ...metadata, preprocessing });
}
