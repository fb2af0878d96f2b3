import { GridError } from '../../protocol/errors';

/** Queued bytes past which the transport is paused, and below which it resumes: a fast client waits for the reader. */
const PAUSE_ABOVE = 4 << 20;
const RESUME_BELOW = 1 << 20;

/** Throttling the transport (uWS's res.pause/resume); both are no-ops once the request is gone. */
export interface Throttle {
  pause(): void;
  resume(): void;
}

/**
 * A request body as it arrives: chunks are queued from uWS's onData and read either one by one (`for await`, so
 * a large upload is handed on as it comes and never held whole) or all at once (`bytes()`, for small JSON bodies).
 * A reader slower than the network pauses the socket rather than letting the queue grow (at most PAUSE_ABOVE
 * plus a chunk is held). Past `max` bytes the stream fails with PAYLOAD_TOO_LARGE and drops everything it held.
 */
export class BodyStream implements AsyncIterable<Uint8Array> {
  private readonly queue: Uint8Array[] = [];
  private size = 0;
  /** Bytes queued and not yet read. */
  private queued = 0;
  private paused = false;
  private ended = false;
  private error?: GridError;
  private wake?: () => void;
  /** The reader stopped early (the upload was refused): what still arrives is dropped, not queued. */
  private abandoned = false;

  constructor(
    private readonly max: number,
    private readonly throttle?: Throttle,
  ) {}

  /** One chunk from the transport; it is copied, since uWS reuses its buffer after the callback. */
  push(chunk: ArrayBuffer, isLast: boolean) {
    if (this.error || this.abandoned) return;
    this.size += chunk.byteLength;
    if (this.size > this.max) this.fail(new GridError('PAYLOAD_TOO_LARGE', `body exceeds ${this.max} bytes`));
    else {
      this.queue.push(new Uint8Array(chunk.slice(0)));
      this.queued += chunk.byteLength;
      this.ended = isLast;
      if (this.queued > PAUSE_ABOVE && !this.paused && !isLast) {
        this.paused = true;
        this.throttle?.pause();
      }
    }
    this.wake?.();
  }

  fail(e: GridError) {
    this.error ??= e;
    this.drop();
    this.wake?.();
  }

  /** Nothing more is read: what is queued goes, and a paused socket resumes so the reply can be sent. */
  private drop() {
    this.queue.length = 0;
    this.queued = 0;
    this.unpause();
  }

  private unpause() {
    if (!this.paused) return;
    this.paused = false;
    this.throttle?.resume();
  }

  async *[Symbol.asyncIterator]() {
    try {
      for (;;) {
        if (this.error) throw this.error;
        const next = this.queue.shift();
        if (next) {
          this.queued -= next.byteLength;
          if (this.queued < RESUME_BELOW) this.unpause();
          yield next;
        } else if (this.ended) return;
        else await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      this.abandoned = true;
      this.drop();
    }
  }

  async bytes(): Promise<Buffer> {
    const parts: Uint8Array[] = [];
    for await (const c of this) parts.push(c);
    return Buffer.concat(parts);
  }
}
