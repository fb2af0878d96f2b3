export function weightedSumRange(out: Float32Array, grads: Float32Array[], weights: number[], start: number, end: number): void;
export interface AdamConstants {
  b1: number;
  b2: number;
  mScale: number;
  vScale: number;
  eps: number;
  keep: number;
  l2: number;
}
export function adamStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamConstants): void;
export function vectorStats(values: Float32Array): { maxAbs: number; norm: number; fingerprint: string };
export function dot(x: Float32Array, y: Float32Array): number;
