import * as ort from 'onnxruntime-web';
import { type ErrorCode, GridError } from '../../protocol/errors';
import { inspectOnnx, type ModelInfo } from './inspect';

ort.env.wasm.numThreads = 1;

export type CheckOutcome = { info: ModelInfo } | { error: { code: ErrorCode; message: string } };

/**
 * An upload's checks, in a piscina thread so that no file (a protobuf nested thousands deep takes a second to
 * decode) holds the coordinator's event loop: the static checks (inspect.ts), then opening it in onnxruntime-web's
 * wasm provider, as a volunteer's browser will: an operator it lacks fails here, named by onnxruntime.
 */
export default async function checkModel({ bytes, maxBytes }: { bytes: Uint8Array; maxBytes: number }): Promise<CheckOutcome> {
  try {
    const info = inspectOnnx(bytes, maxBytes);
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] }).catch((e: unknown) => {
      throw new GridError('BAD_MODEL', `onnxruntime-web cannot run this model: ${String((e as Error)?.message ?? e)}`);
    });
    await session.release();
    return { info };
  } catch (e) {
    const err = e instanceof GridError ? e : new GridError('BAD_MODEL', String((e as Error)?.message ?? e));
    return { error: { code: err.code, message: err.message } };
  }
}
