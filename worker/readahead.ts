import type { DataRef } from './data';

const keyOf = (ref: DataRef) => JSON.stringify([ref.dataset, ref.split, ref.seed, ref.cursor, ref.count, ref.ordered ?? false, ref.augment ?? null]);

/** The same stream of the same data set, `next` starting where `prev` ended. */
const follows = (prev: DataRef, next: DataRef) => next.cursor === prev.cursor + prev.count && keyOf({ ...prev, cursor: next.cursor }) === keyOf(next);

/**
 * Sequential readahead of training batches, as a file system reads ahead: when a finished shard's samples followed the
 * shard finished before it in the stream (one worker on a job takes each round's samples in turn), the next run of as
 * many samples is gathered while the result is on its way and the coordinator closes the round, instead of after the
 * next assignment arrives. Any other pattern gathers nothing ahead.
 */
export class Readahead<T> {
  private lastDone?: DataRef;
  private lastTaken?: string;
  private ahead?: { key: string; batch: Promise<T> };

  constructor(private readonly load: (ref: DataRef) => Promise<T>) {}

  /** The batch `ref` names: the one gathered ahead when it is that one, else loaded now. */
  take(ref: DataRef): Promise<T> {
    const key = keyOf(ref);
    const hit = this.ahead?.key === key ? this.ahead.batch : undefined;
    this.ahead = undefined;
    this.lastTaken = key;
    return hit ? hit.catch(() => this.load(ref)) : this.load(ref);
  }

  /** The shard of `ref` is done: gather the run after it when the stream is read in order and it is not taken yet. */
  done(ref: DataRef) {
    const sequential = this.lastDone !== undefined && follows(this.lastDone, ref);
    this.lastDone = ref;
    const next = { ...ref, cursor: ref.cursor + ref.count };
    const key = keyOf(next);
    if (!sequential || key === this.lastTaken) return;
    const batch = this.load(next);
    batch.catch(() => {}); // a failure is met again, and reported, when that shard is assigned
    this.ahead = { key, batch };
  }
}
