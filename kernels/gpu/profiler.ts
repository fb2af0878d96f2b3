/**
 * GPU time per program from timestamp queries (benchmarks only): the runtime gives each dispatch its own pass with
 * timestamps at its start and end while a profiler is attached, which serializes passes, so totals run a little high.
 */
export class DispatchProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolved: GPUBuffer;
  private keys: string[] = [];
  private readonly pending: Promise<void>[] = [];
  /** Nanoseconds and dispatch counts per program key. */
  readonly totals = new Map<string, { ns: number; count: number }>();

  constructor(
    private readonly device: GPUDevice,
    private readonly capacity = 512,
  ) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * capacity });
    this.resolved = device.createBuffer({ size: 16 * capacity, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  }

  /** Whether the current encoder has room for another timed dispatch (else the runtime submits first). */
  get full() {
    return this.keys.length === this.capacity;
  }

  /** The timestamp writes for one dispatch's pass. */
  passFor(key: string): GPUComputePassDescriptor {
    const i = this.keys.push(key) - 1;
    return { label: key, timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } };
  }

  /** Called with the encoder about to be submitted: copies this encoder's timestamps out for `collect`. */
  resolve(encoder: GPUCommandEncoder) {
    const keys = this.keys;
    if (!keys.length) return;
    this.keys = [];
    const bytes = 16 * keys.length;
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, 2 * keys.length, this.resolved, 0);
    encoder.copyBufferToBuffer(this.resolved, 0, staging, 0, bytes);
    this.pending.push(
      // Mapped after the submit that follows this call; the copy is done when the map resolves.
      Promise.resolve().then(async () => {
        await staging.mapAsync(GPUMapMode.READ);
        const t = new BigUint64Array(staging.getMappedRange());
        keys.forEach((key, i) => {
          const total = this.totals.get(key) ?? { ns: 0, count: 0 };
          total.ns += Number(t[2 * i + 1] - t[2 * i]);
          total.count++;
          this.totals.set(key, total);
        });
        staging.destroy();
      }),
    );
  }

  /** Waits for every submitted encoder's timestamps, then clears them from the queue of work to read. */
  async collect() {
    await Promise.all(this.pending.splice(0));
    return this.totals;
  }

  reset() {
    this.totals.clear();
  }
}
