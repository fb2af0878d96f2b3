/** A worker's observed pace: samples per second, how long until it is free of the shards it holds, and how many more it may take. */
export interface Pace {
  rate: number;
  busyMs: number;
  most: number;
}

/**
 * Whether workers at `faster` paces, together, would finish `free` shards of `count` samples each before a worker
 * at `rate` finishes one of them: if so, that worker should leave them be, and the round does not wait on it.
 */
export function fasterFinishAll(free: number, count: number, rate: number, faster: readonly Pace[]): boolean {
  if (!(rate > 0) || free <= 0 || count <= 0) return false;
  const mine = (1000 * count) / rate;
  let shards = 0;
  for (const f of faster) shards += Math.min(f.most, Math.max(0, Math.floor(((mine - f.busyMs) * f.rate) / (1000 * count))));
  return shards >= free;
}

/**
 * How long a worker at `rate` needs to finish leases of `count` samples held since `since` (ms, at `now`);
 * undefined when one is over twice its expected time: that worker is not keeping its measured pace.
 */
export function busyMs(leases: readonly { since: number; count: number }[], rate: number, now: number): number | undefined {
  let busy = 0;
  for (const l of leases) {
    const expected = (1000 * l.count) / rate;
    const elapsed = now - l.since;
    if (elapsed > 2 * expected) return undefined;
    busy = Math.max(busy, expected - elapsed);
  }
  return busy;
}

/**
 * Shard sizes for a round of `total` samples, in whole multiples of `unit` (the job's shardSize, the smallest
 * shard), one shard per worker sized by its measured `rates` (samples/s, fastest first), so that every worker's
 * shard takes about as long and no round waits on its slowest worker. Workers too slow for a whole unit get none.
 * Without a measured rate, `unit`-sized shards, as a fixed split has.
 */
export function sizesByRate(total: number, unit: number, rates: readonly number[]): number[] {
  const units = Math.floor(total / unit);
  const fixed = () => Array.from({ length: Math.ceil(total / unit) }, (_, i) => Math.min(unit, total - i * unit));
  const usable = rates.filter((r) => r > 0).slice(0, units);
  if (!usable.length || units < 1) return fixed();
  for (;;) {
    const sum = usable.reduce((a, b) => a + b, 0);
    const shares = usable.map((r) => Math.floor((units * r) / sum));
    if (shares.every((s) => s >= 1) || usable.length === 1) {
      shares[0] += units - shares.reduce((a, b) => a + b, 0); // what flooring left over goes to the fastest
      const sizes = shares.map((s) => s * unit);
      sizes[0] += total - units * unit; // and the part of a unit a globalBatch not a multiple of it leaves
      return sizes;
    }
    usable.pop(); // the slowest cannot fill a unit in its share: leave it out, share again
  }
}
