import { GridError } from '../../protocol/errors';

/**
 * A request body as it arrives: chunks are queued from uWS's onData and read either one by one (`for await`, so
 * a large upload is handed on as it comes and never held whole) or all at once (`bytes()`, for small JSON bodies).
 * Past `max` bytes the stream fails with PAYLOAD_TOO_LARGE and drops everything it held.
 */
export class BodyStream implements AsyncIterable<Uint8Array> {
  private readonly queue: Uint8Array[] = [];
  private size = 0;
  private ended = false;
  private error?: GridError;
  private wake?: () => void;
  /** The reader stopped early (the upload was refused): what still arrives is dropped, not queued. */
  private abandoned = false;

  constructor(private readonly max: number) {}

  /** One chunk from the transport; it is copied, since uWS reuses its buffer after the callback. */
  push(chunk: ArrayBuffer, isLast: boolean) {
    if (this.error || this.abandoned) return;
    this.size += chunk.byteLength;
    if (this.size > this.max) this.fail(new GridError('PAYLOAD_TOO_LARGE', `body exceeds ${this.max} bytes`));
    else {
      this.queue.push(new Uint8Array(chunk.slice(0)));
      this.ended = isLast;
    }
    this.wake?.();
  }

  fail(e: GridError) {
    this.error ??= e;
    this.queue.length = 0;
    this.wake?.();
  }

  async *[Symbol.asyncIterator]() {
    try {
      for (;;) {
        if (this.error) throw this.error;
        const next = this.queue.shift();
        if (next) yield next;
        else if (this.ended) return;
        else await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      this.abandoned = true;
      this.queue.length = 0;
    }
  }

  async bytes(): Promise<Buffer> {
    const parts: Uint8Array[] = [];
    for await (const c of this) parts.push(c);
    return Buffer.concat(parts);
  }
}
