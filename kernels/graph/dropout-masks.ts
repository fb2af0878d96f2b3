import type { Graph, HostTensor } from './ir';

/** FNV-1a of a string, mixed with `seed`: one stream per dropout site and step. */
function streamSeed(seed: number, name: string) {
  let h = (2166136261 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** mulberry32: a small, fast 32-bit generator; the same numbers in every browser and Node. */
function mulberry32(state: number) {
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The dropout masks a training-step graph takes for a batch of `n`: for each dropout input, 0 with probability
 * `rate`, else 1/(1-rate), drawn from the batch's seed. Drawn on the host, the same for every engine and every
 * worker given the shard, so engines agree and redundant copies of a shard can be compared.
 */
export function dropoutFeeds(graph: Graph, n: number, seed = 0): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  for (const input of graph.inputs) {
    if (input.dropout === undefined) continue;
    const shape = input.shape.map((d) => (typeof d === 'number' ? d : n));
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const next = mulberry32(streamSeed(seed >>> 0, input.name));
    const keep = 1 / (1 - input.dropout);
    for (let i = 0; i < data.length; i++) data[i] = next() < input.dropout ? 0 : keep;
    feeds[input.name] = { shape, data };
  }
  return feeds;
}
