import * as ort from 'onnxruntime-web';

ort.env.wasm.numThreads = 1;

/**
 * Open a model in onnxruntime-web's wasm provider, in a piscina thread: what a volunteer's browser will do. An
 * operator it lacks fails here, with onnxruntime's message naming it. Returns null when it opens.
 */
export default async function openInOrtWeb(bytes: Uint8Array): Promise<string | null> {
  try {
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    await session.release();
    return null;
  } catch (e) {
    return String((e as Error)?.message ?? e);
  }
}
