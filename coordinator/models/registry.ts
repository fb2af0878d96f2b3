import { createHash } from 'node:crypto';
import { Piscina } from 'piscina';
import { GridError } from '../../protocol/errors';
import type { Store } from '../store/index';
import type { ModelRow } from '../store/model-queries';
import type { CheckOutcome } from './check-thread';
import type { ModelInfo, TensorInfo } from './inspect';

export interface ModelRegistryOptions {
  store: Store;
  /** Largest model file accepted [GRID_MAX_MODEL_BYTES]. */
  maxBytes: number;
  /** When set, only these sha256s may be registered [GRID_MODEL_ALLOWLIST] (volunteer networks' allow_custom_models: false). */
  allowlist?: ReadonlySet<string>;
}

export type RegisteredModel = Omit<ModelInfo, 'ops'> & { name: string; ops?: string[] };

/**
 * Content-addressed ONNX models: an upload is inspected (inspect.ts) and opened in onnxruntime-web, both off the
 * event loop (every operator a volunteer's browser lacks is refused, named), then stored once by its sha256.
 */
export class ModelRegistry {
  private readonly checker = new Piscina({
    filename: new URL('./check-thread-entry.cjs', import.meta.url).href,
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: 30_000,
  });

  constructor(private readonly o: ModelRegistryOptions) {}

  async register(name: string, bytes: Uint8Array, tokenId: number | null): Promise<{ model: RegisteredModel; created: boolean }> {
    if (!/^[\w .-]{1,200}$/.test(name)) throw new GridError('BAD_REQUEST', 'model name must be 1-200 letters, digits, spaces, dots, dashes or underscores');
    if (bytes.byteLength > this.o.maxBytes) throw new GridError('PAYLOAD_TOO_LARGE', `model of ${bytes.byteLength} bytes exceeds ${this.o.maxBytes}`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (this.o.allowlist && !this.o.allowlist.has(sha256)) throw new GridError('MODEL_NOT_ALLOWED', `model ${sha256} is not on this coordinator's allow-list`);
    const outcome = (await this.checker.run({ bytes, maxBytes: this.o.maxBytes })) as CheckOutcome;
    if ('error' in outcome) throw new GridError(outcome.error.code, outcome.error.message);
    const { info } = outcome;
    const { opset, inputs, outputs } = info;
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
