import { describe, expect, it } from 'vitest';
import { BodyStream } from './body-stream';

describe('a request body read slower than it arrives', () => {
  it('pauses the socket past 4 MB queued and resumes it once the reader has caught up', async () => {
    const calls: string[] = [];
    const stream = new BodyStream(1 << 30, { pause: () => calls.push('pause'), resume: () => calls.push('resume') });
    for (let i = 0; i < 5; i++) stream.push(new ArrayBuffer(1 << 20), false);
    expect(calls).toEqual(['pause']); // 5 MB queued: the transport stops reading
    stream.push(new ArrayBuffer(1 << 20), true);
    let read = 0;
    for await (const chunk of stream) {
      read += chunk.byteLength;
      if (read === 4 << 20) expect(calls).toEqual(['pause']); // 2 MB still queued: still paused
    }
    expect(read).toBe(6 << 20);
    expect(calls).toEqual(['pause', 'resume']); // under 1 MB left: reading again
  });

  it('resumes a paused socket when the reader gives up, so the refusal can be sent', async () => {
    const calls: string[] = [];
    const stream = new BodyStream(1 << 30, { pause: () => calls.push('pause'), resume: () => calls.push('resume') });
    for (let i = 0; i < 6; i++) stream.push(new ArrayBuffer(1 << 20), false);
    for await (const _ of stream) break; // refused after one chunk
    expect(calls).toEqual(['pause', 'resume']);
  });
});
