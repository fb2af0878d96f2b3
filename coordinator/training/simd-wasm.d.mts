export const SIMD_WASM: Uint8Array;
