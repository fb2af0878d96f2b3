import { GridError } from '../../protocol/errors';
import type { Frame } from '../../protocol/frames';
import { errorText, type Logger } from '../log';
import type { Metrics } from '../metrics';
import type { Fence, ResultRow, Store } from '../store/index';
import type { Dispatcher } from './dispatcher';
import type { ResultMeta, Run } from './kind';
import { pointsFor } from './points';
import type { Quarantine } from './quarantine';
import { encodingError } from './redundancy';
import { roundComplete, type Shard } from './round';
import type { RecentSamples } from './transfer';
import type { Settlement } from './verification';

export interface IntakeContext {
  store: Store;
  log: Logger;
  metrics: Metrics;
  now: () => number;
  runs: Map<number, Run>;
  dispatcher: Dispatcher;
  quarantine: Quarantine;
  throughput: RecentSamples;
}

/** What intake asks back of the scheduler: the job's fence, giving a job up, and settling redundant copies. */
export interface IntakeHooks {
  fence(run: Run): Fence;
  abandon(run: Run): Promise<void>;
  verify(run: Run, landed: Shard): Settlement;
}

/**
 * Take one result from an untrusted worker: its lease must be live and its frame for that lease; its kind checks
 * the rest. Refused: on record against the worker (quarantine.ts), thrown with its code. Accepted: into its shard,
 * written with whatever its kind records alongside (now, or by the round's close when its kind says so). Returns the
 * run when this result completed its round (the caller closes it), else undefined.
 */
export async function acceptResult(c: IntakeContext, hooks: IntakeHooks, workerId: string, meta: ResultMeta, frame: Frame): Promise<Run | undefined> {
  const lease = c.dispatcher.leases.get(meta.assignmentId);
  if (!lease || lease.workerId !== workerId) throw new GridError('UNKNOWN_ASSIGNMENT', `assignment ${meta.assignmentId} is not leased to this worker`);
  if (!lease.live) throw new GridError('STALE_RESULT', `assignment ${meta.assignmentId} expired or was reassigned`);
  const run = c.runs.get(lease.jobId);
  const shard = c.dispatcher.keeper.shardOf(lease.jobId, lease.round, lease.shard);
  if (!run || !shard) throw new GridError('STALE_RESULT', 'the round has moved on');
  if (frame.job !== lease.jobId || frame.round !== lease.round || frame.shard !== lease.shard)
    throw new GridError('BAD_FRAME', `frame is for job ${frame.job} round ${frame.round} shard ${frame.shard}, not assignment ${meta.assignmentId}`);
  const loss = Number.isFinite(meta.loss) && Math.abs(meta.loss) < 1e300 ? meta.loss : -1;
  const row = (norm: number, accepted: boolean, reason: string | null): ResultRow => ({
    assignment_id: meta.assignmentId,
    job_id: run.id,
    round: lease.round,
    shard: lease.shard,
    worker_id: workerId,
    samples: meta.samples,
    loss,
    norm,
    bytes: frame.payload.byteLength,
    encoding: frame.dtype,
    accepted: accepted ? 1 : 0,
    reason,
    points: accepted ? pointsFor(meta.samples, run.kind.flopsPerSample(run)) : 0,
  });
  let checked: ReturnType<Run['kind']['accept']>;
  try {
    checked = run.kind.accept(run, shard, meta, frame, { ...lease, trusted: c.dispatcher.workers.get(workerId)?.link.trusted === true });
  } catch (e) {
    if (!(e instanceof GridError)) throw e;
    const recorded = await c.quarantine.refuse(shard, row(0, false, e.code), hooks.fence(run));
    if (!recorded) await hooks.abandon(run); // another coordinator owns the job now: nothing is recorded here
    throw e;
  }
  // Decide synchronously, before any await: only the result that completes the round closes it, exactly once.
  const round = run.round;
  c.dispatcher.keeper.settle(lease, shard);
  run.handbacks = 0;
  const { values, norm, correct } = checked;
  const tokenId = c.dispatcher.workers.tokenOf(workerId);
  shard.result = {
    workerId,
    tokenId,
    network: c.dispatcher.workers.get(workerId)?.link.network,
    assignmentId: meta.assignmentId,
    values,
    norm,
    rounding: encodingError(frame, values),
    samples: meta.samples,
    loss: meta.loss,
    correct,
  };
  const settled = hooks.verify(run, shard);
  const closes = !round.closing && roundComplete(round);
  if (closes) round.closing = true;
  else c.dispatcher.dispatchAll(); // the worker's next shard is leased while this result is written
  const accepted = row(norm, true, null);
  if (run.kind.recordsAtClose) {
    round.unrecorded.set(meta.assignmentId, accepted); // written by the round's close
  } else {
    const written = c.dispatcher.keeper.ledger.recordOutcome(accepted, (r) => r, hooks.fence(run), checked.write);
    await recordNow(c, run, shard, closes, written);
  }
  c.metrics.results.inc({ accepted: 'true', code: 'OK' });
  c.throughput.add(meta.samples, c.now());
  c.metrics.resultBytes.inc({ encoding: frame.dtype }, frame.payload.byteLength);
  await c.quarantine.judge(run, settled);
  return closes ? run : undefined;
}

/** Wait for an accepted result's own write; when it fails, the shard is computed again and the worker told so. */
async function recordNow(c: IntakeContext, run: Run, shard: Shard, closes: boolean, written: Promise<unknown>) {
  const round = run.round;
  const write = written.then(
    () => true,
    (e) => {
      c.log.error('accepted result could not be recorded', { job: run.id, err: errorText(e) });
      return false;
    },
  );
  round.writes.push(write);
  if (await write) return;
  if (closes || !round.closing) {
    shard.result = undefined; // the shard is recomputed, and its failed write no longer holds the round back
    round.writes = round.writes.filter((w) => w !== write);
    round.closing = false;
  }
  throw new GridError('INTERNAL', 'the result could not be recorded; the shard will be recomputed');
}
