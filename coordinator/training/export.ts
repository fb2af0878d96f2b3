import { inferenceGraph } from '../../kernels/onnx/models';
import type { DatasetManifest } from '../../protocol/dataset';
import type { TrainingSpec } from '../../protocol/job';
import { inputSize } from '../../protocol/model';

/**
 * A trained model as a standalone ONNX file: the inference graph with the weights as initializers, input `input`
 * [batch, features] float32, outputs `logits` and `probabilities` [batch, classes], and in `metadata_props` what
 * a user needs to feed it the way it was trained.
 */
export function exportOnnx(job: { id: number; name: string; spec: TrainingSpec }, round: number, params: Float32Array, data: DatasetManifest): Uint8Array {
  const { featureDtype, featureScale, featureShape } = data;
  const preprocessing =
    `input = ${featureDtype === 'u8' ? 'uint8 pixel' : 'float32 feature'} values × ${featureScale}, ` +
    `${inputSize(job.spec.model)} per sample, flattened row-major from shape [${featureShape.join(', ')}]`;
  return inferenceGraph(job.spec.model, params, {
    job: String(job.id),
    name: job.name,
    round: String(round),
    dataset: `${data.name}/${data.split}`,
    classes: String(data.classes),
    preprocessing,
    model: JSON.stringify(job.spec.model),
  });
}
