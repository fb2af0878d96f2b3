import { splitParams } from '../../kernels/models/model';
import { inferenceGraph, languageModelOnnx } from '../../kernels/onnx/models';
import type { DatasetManifest } from '../../protocol/dataset';
import type { TrainingSpec } from '../../protocol/job';
import { isAdapter, mergedModel } from '../../protocol/lora';
import { graphOf, inputSize, type ModelSpec, parameterShapes } from '../../protocol/model';
import { huggingFaceJson } from '../data/text-tokenizer';
import { encodeSafetensors } from './checkpoint';

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
  // A LoRA job's model is the file's graph with each adapter folded into its weight (the adapters alone: adapters.safetensors).
  const folded = model.kind === 'onnx' && model.lora ? mergedModel(model, graphOf(model), params) : { model, params };
  return inferenceGraph(folded.model, folded.params, { ...metadata, preprocessing });
}

/** A LoRA job's adapters alone as safetensors (A and B per adapted weight, PEFT's names aside), or undefined for any other job. */
export function adaptersFile(model: ModelSpec, params: Float32Array, round: number): Buffer | undefined {
  if (model.kind !== 'onnx' || !model.lora) return undefined;
  const byName = splitParams(params, parameterShapes(model), (data, shape) => ({ data, shape }));
  const tensors = Object.entries(byName)
    .filter(([name]) => isAdapter(name))
    .map(([name, t]) => ({ name, ...t }));
  const { rank, alpha, targets } = model.lora;
  const metadata = {
    format: 'grid-lora/1',
    base: model.sha256,
    round: String(round),
    rank: String(rank),
    alpha: String(alpha ?? rank),
    targets: JSON.stringify(targets),
  };
  return encodeSafetensors(tensors, metadata);
}
