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
