import type { Scheduler, WorkerLink } from '../coordinator/jobs/scheduler';
import { decodeFrame, encodeTensor } from '../protocol/frames';
import type { Assignment, ServerMessage } from '../protocol/messages';
import { type MlpSpec, parameterCount } from '../protocol/model';

// What the scheduler tests share: a toy data set and model, links that record what they are sent, results.
export const CSV = Array.from({ length: 64 }, (_, i) => `${(i % 7) / 7},${(i % 5) / 5},${(i % 3) / 3},${i % 2}`).join('\n');
export const MODEL: MlpSpec = { kind: 'mlp', layers: [3, 4, 2] };
export const N = parameterCount(MODEL);
export const job = (over: Record<string, unknown> = {}) => ({
  name: 'toy',
  model: MODEL,
  dataset: { name: 'toy', split: 'train' },
  optimizer: { kind: 'sgd', lr: 0.1 },
  globalBatch: 16,
  shardSize: 8,
  rounds: 3,
  checkpointEvery: 100,
  // The scheduler's own behaviour, on made-up gradients: no root of trust to judge them (fault-matrix.test.ts does).
  aggregation: { reference: 0 },
  ...over,
});

/** A worker as the scheduler sees it, recording what it is sent (messages, and the binary frames pushed to it). */
export function link(id: string, tokenId: number | null = null) {
  const inbox: ServerMessage[] = [];
  const frames: Uint8Array[] = [];
  const l: WorkerLink & { inbox: ServerMessage[]; frames: Uint8Array[]; assigns(): Assignment[] } = {
    id,
    name: id,
    kind: 'native',
    tokenId,
    send: (m) => (m instanceof Uint8Array ? frames.push(m) : inbox.push(m)),
    frames,
    close: () => {},
    inbox,
    assigns: () => inbox.filter((m): m is Assignment => m.type === 'assign'),
  };
  return l;
}

/** A distinct gradient per assignment (identical payloads are refused as replays). */
export const gradient = (a: Assignment) =>
  decodeFrame(encodeTensor({ kind: 'gradient', job: a.jobId, round: a.round, shard: a.shard }, new Float32Array(N).fill(0.01 + a.assignmentId * 1e-4), 'f32'));
export const result = (a: Assignment, over: Record<string, number> = {}) => ({
  type: 'result' as const,
  assignmentId: a.assignmentId,
  paramsVersion: a.paramsVersion,
  samples: a.data.count,
  loss: 0.7,
  correct: 4,
  ...over,
});
export const settle = () => new Promise((r) => setTimeout(r, 20));
/** Wait (up to 10 s: lease rows take longer on a loaded MariaDB) until `l` has been sent `n` assignments. */
export const assigned = async (l: { assigns(): Assignment[] }, n: number) => {
  for (let i = 0; i < 500 && l.assigns().length < n; i++) await new Promise((r) => setTimeout(r, 20));
  return l.assigns();
};

/** Connect `links` to the scheduler's dispatcher, each ready for one shard, in this order. */
export function connect(scheduler: Scheduler, ...links: WorkerLink[]) {
  for (const l of links) {
    scheduler.dispatcher.addWorker(l);
    scheduler.dispatcher.ready(l.id, 1);
  }
}
