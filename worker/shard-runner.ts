import type { Assignment, InferAssignment } from '../protocol/messages';

/** A computed shard, ready to send: its numbers, and its frame (encoded only if it is still wanted). */
export interface ComputedShard {
  samples: number;
  loss: number;
  correct?: number;
  paramsVersion: number;
  /** The engine and provider that ran it (inference shards report it). */
  provider?: string;
  /** Local steps: the inner optimizer's step count after this shard. */
  innerStep?: number;
  frame(): Uint8Array;
}

/** The assignments a worker computes, one runner per message type. */
export type Work = Assignment | InferAssignment;

/** Runs one kind of assignment; the loop only queues, gates, runs and sends, whatever the kind. */
export interface ShardRunner<A extends Work = Work> {
  run(a: A): Promise<ComputedShard>;
  /** Bytes the shard will move at most: what is not here yet (data, parameters, model), its result, its messages. */
  cost(a: A): Promise<number>;
  /** Start gathering what `a` needs (data, parameters) while the shard ahead of it computes; run() picks it up. */
  prepare?(a: A): void;
  /** The result of `a` is sent: start what waited for the link and the CPU to be free (the next batch, read ahead). */
  sent?(a: A): void;
  /** Take a frame the coordinator pushed ahead of an assignment; false when it is not this runner's. */
  offer?(frame: Uint8Array): boolean;
  /** Bytes downloaded so far (parameters, models). */
  readonly bytesFetched: number;
}

/** A runner for every work message type; a new kind of work adds its runner here, not to the loop. */
export type ShardRunners = { [T in Work['type']]: ShardRunner<Extract<Work, { type: T }>> };

export const isWork = (runners: ShardRunners, msg: { type: string }): msg is Work => Object.hasOwn(runners, msg.type);

/** The runner for `a`. */
export const runnerFor = (runners: ShardRunners, a: Work) => runners[a.type] as ShardRunner<Work>;
