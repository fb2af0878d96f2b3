const HOUR_MS = 3_600_000;
/** Kept free under a bandwidth cap for an hour of heartbeats and acknowledgements between shards. */
export const KEEPALIVE_BYTES = 48_000;

/**
 * A volunteer's bandwidth cap: bytes up and down together over any sliding hour. The loop asks before each shard
 * whether its cost still fits, and records what each shard really moved.
 */
export class TransferBudget {
  private readonly spent: { at: number; bytes: number }[] = [];
  /** The worker's running byte total when last recorded. */
  private recorded = 0;

  constructor(
    public bytesPerHour: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Bytes moved in the last hour. */
  used(): number {
    const since = this.now() - HOUR_MS;
    while (this.spent.length && this.spent[0].at <= since) this.spent.shift();
    return this.spent.reduce((n, s) => n + s.bytes, 0);
  }

  record(bytes: number) {
    if (bytes > 0) this.spent.push({ at: this.now(), bytes });
  }

  /** Record whatever the worker's running total of bytes moved grew by since the last call. */
  recordTotal(total: number) {
    this.record(total - this.recorded);
    this.recorded = total;
  }

  fits(bytes: number): boolean {
    return this.used() + bytes <= this.bytesPerHour;
  }

  /** How long until `bytes` more fit, as what was spent ages out of the hour (Infinity if they never can). */
  msUntilFits(bytes: number): number {
    if (bytes > this.bytesPerHour) return Number.POSITIVE_INFINITY;
    let over = this.used() + bytes - this.bytesPerHour;
    if (over <= 0) return 0;
    for (const s of this.spent) {
      over -= s.bytes;
      if (over <= 0) return s.at + HOUR_MS - this.now();
    }
    return HOUR_MS;
  }
}
