// The coordinator and every worker derive the same sample order from (seed, epoch): assignments carry a cursor, not indices.

/** splitmix32: small, fast and good enough for shuffling. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

const cache = new Map<string, Uint32Array>();

export function epochPermutation(seed: number, epoch: number, n: number): Uint32Array {
  const key = `${seed}:${epoch}:${n}`;
  let perm = cache.get(key);
  if (perm) return perm;
  perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const rand = rng(seed * 1_000_003 + epoch);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  if (cache.size > 4) cache.delete(cache.keys().next().value as string);
  cache.set(key, perm);
  return perm;
}

/** Sample indices [cursor, cursor+count) of the endless shuffled stream over a data set of n samples. */
export function sampleIndices(seed: number, n: number, cursor: number, count: number): Uint32Array {
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const pos = cursor + i;
    out[i] = epochPermutation(seed, Math.floor(pos / n), n)[pos % n];
  }
  return out;
}
