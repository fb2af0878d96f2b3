import { Piscina } from 'piscina';
import { GridError } from '../../protocol/errors';
import type { Store } from '../store/index';
import type { ModelRow } from '../store/model-queries';
import { inspectOnnx, type ModelInfo, type TensorInfo } from './inspect';

export interface ModelRegistryOptions {
  store: Store;
  /** Largest model file accepted [GRID_MAX_MODEL_BYTES]. */
  maxBytes: number;
  /** When set, only these sha256s may be registered [GRID_MODEL_ALLOWLIST] (volunteer networks' allow_custom_models: false). */
  allowlist?: ReadonlySet<string>;
}

export type RegisteredModel = Omit<ModelInfo, 'ops'> & { name: string; ops?: string[] };

/**
 * Content-addressed ONNX models: an upload is inspected (inspect.ts), opened in onnxruntime-web off the event loop
 * (every operator a volunteer's browser lacks is refused, named), then stored once by its sha256.
 */
export class ModelRegistry {
  private readonly checker = new Piscina({
    filename: new URL('./check-thread-entry.mjs', import.meta.url).href,
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: 30_000,
  });

  constructor(private readonly o: ModelRegistryOptions) {}

  async register(name: string, bytes: Uint8Array, tokenId: number | null): Promise<{ model: RegisteredModel; created: boolean }> {
    if (!/^[\w .-]{1,200}$/.test(name)) throw new GridError('BAD_REQUEST', 'model name must be 1-200 letters, digits, spaces, dots, dashes or underscores');
    const info = inspectOnnx(bytes, this.o.maxBytes);
    if (this.o.allowlist && !this.o.allowlist.has(info.sha256))
      throw new GridError('MODEL_NOT_ALLOWED', `model ${info.sha256} is not on this coordinator's allow-list`);
    const failure = (await this.checker.run(bytes)) as string | null;
    if (failure) throw new GridError('BAD_MODEL', `onnxruntime-web cannot run this model: ${failure}`);
    const { sha256, opset, inputs, outputs } = info;
    const row = { sha256, name, token_id: tokenId, bytes: bytes.byteLength, opset, inputs: JSON.stringify(inputs), outputs: JSON.stringify(outputs) };
    const created = await this.o.store.putModel(row, bytes);
    return { model: { ...info, name }, created };
  }

  close() {
    return this.checker.destroy();
  }
}

/** A stored model as the API shows it. */
export const publicModel = (m: ModelRow): RegisteredModel => ({
  sha256: m.sha256,
  name: m.name,
  bytes: m.bytes,
  opset: m.opset,
  inputs: JSON.parse(m.inputs) as TensorInfo[],
  outputs: JSON.parse(m.outputs) as TensorInfo[],
});

/** The reply to a registration: 201 with the model when it is new, 200 when those bytes were already registered. */
export const registeredReply = (model: RegisteredModel, created: boolean) => ({
  status: created ? 201 : 200,
  body: JSON.stringify(model),
  type: 'application/json',
});
