import { GridError } from '../../protocol/errors';
import type { Frame } from '../../protocol/frames';
import { trainingSpec } from '../../protocol/job';
import { DEFAULT_LIMITS, type Limits } from '../config';
import type { DatasetRegistry } from '../data/dataset-registry';
import { correctIn } from '../inference/outputs';
import { completeInference, recordOutput } from '../inference/record';
import { errorText, type Logger } from '../log';
import type { Metrics } from '../metrics';
import { type Fence, FencedError, type ResultRow, type Store } from '../store/index';
import { AggregationPool } from './aggregate-pool';
import { Dispatcher, type WorkerLink } from './dispatcher';
import { EvaluationPool, type Evaluator, recordEvaluation } from './evaluate';
import { checkSubmission, liveStatus, loadRun, type Run } from './job-run';
import { Quarantine } from './quarantine';
import { encodingError } from './redundancy';
import { checkAnyResult, type ResultMeta } from './result-check';
import { roundComplete, type Shard } from './round';
import { stepRound } from './round-close';
import { RecentSamples, TransferLedger } from './transfer';
import { recheck, verifyRound } from './verification';

export type { WorkerLink };

export interface SchedulerOptions {
  store: Store;
  datasets: DatasetRegistry;
  log: Logger;
  metrics: Metrics;
  owner: string;
  evaluator?: Evaluator;
  now?: () => number;
  limits?: Pick<Limits, 'maxParams' | 'maxShardsPerRound'>;
  /** When set, inference jobs may only run these model hashes [GRID_MODEL_ALLOWLIST]. */
  modelAllowlist?: ReadonlySet<string>;
}

/** How long a claim on a job lasts without renewal (renewed every second); a frozen owner loses its jobs after this. */
const OWNERSHIP_MS = 15_000;

/**
 * Synchronous data-parallel rounds: lease shards to workers, check results (result-check.ts), combine them in shard
 * order (round.ts), step, checkpoint. The only part of training that touches the store. Each job runs inside its
 * own failure boundary: whatever throws while loading it or closing its round marks that job failed, nothing else.
 */
export class Scheduler {
  private readonly runs = new Map<number, Run>();
  private readonly now: () => number;
  private readonly evaluator: Evaluator;
  private readonly pool = new AggregationPool();
  private readonly evaluations?: EvaluationPool;
  private timer?: NodeJS.Timeout;
  /** Background evaluations; stop() waits for them. */
  private pending = Promise.resolve();
  private stopped = false;
  private claiming = Promise.resolve();

  /** The worker registry and the leases; the transport registers connections here. */
  readonly dispatcher: Dispatcher;
  /** Bytes moved per worker and per job; the transport and the download routes count into it. */
  readonly transfers = new TransferLedger();
  /** Samples in accepted results over the last minute, for the status summary. */
  readonly throughput = new RecentSamples();
  private readonly quarantine: Quarantine;

  constructor(private readonly opts: SchedulerOptions) {
    this.now = opts.now ?? Date.now;
    if (!opts.evaluator) this.evaluations = new EvaluationPool();
    this.evaluator = opts.evaluator ?? (this.evaluations as EvaluationPool).evaluate;
    this.dispatcher = new Dispatcher({ ...opts, runs: this.runs, now: this.now, stopped: () => this.stopped });
    this.quarantine = new Quarantine({ ...opts, runs: this.runs, dispatcher: this.dispatcher });
  }

  async start() {
    await this.claim();
    this.timer = setInterval(() => void this.tick().catch((e) => this.opts.log.error('tick failed', { err: errorText(e) })), 1000);
  }

  async stop() {
    this.stopped = true;
    clearInterval(this.timer);
    await this.transfers.flush(this.opts.store).catch(() => {});
    await this.pending;
    await this.pool.close();
    await this.evaluations?.close();
  }

  /**
   * Take ownership of runnable jobs (new ones, or those of a coordinator whose lease expired) and load each.
   * Calls are serialised: two overlapping claims (a submission and the timer) would load one job twice.
   */
  claim(): Promise<void> {
    const next = this.claiming.then(() => this.claimNow());
    this.claiming = next.catch(() => {});
    return next;
  }

  private async claimNow() {
    const owned = await this.opts.store.claimJobs(this.opts.owner, OWNERSHIP_MS);
    // Jobs another coordinator took over while this one was away (a freeze, a partition) are abandoned, not failed.
    for (const run of [...this.runs.values()]) if (!owned.some((j) => j.id === run.id && j.owner_epoch === run.epoch)) await this.abandon(run);
    for (const job of owned) {
      if (this.runs.has(job.id)) continue;
      try {
        const run = await loadRun(job, { ...this.opts, allowlist: this.opts.modelAllowlist });
        await this.opts.store.fenced(this.fence(run), async (tx) => {
          await tx.expireOpenAssignments(job.id);
          if (job.state === 'queued') await tx.setJobState(job.id, 'running', ['queued']);
          await tx.setJobProgress(job.id, run.round.index, run.version);
        });
        if (run.inference ? roundComplete(run.round) : run.round.index >= run.totalRounds) await this.finish(run);
        else this.runs.set(job.id, run);
      } catch (e) {
        if (e instanceof FencedError) continue; // claimed by another coordinator meanwhile: theirs now
        await this.failJob({ jobId: job.id, owner: this.opts.owner, epoch: job.owner_epoch }, 'load', e);
      }
    }
    this.dispatcher.dispatchAll();
  }

  /** Stop running a job this coordinator no longer owns: drop it and its leases, write nothing for it. */
  private async abandon(run: Run) {
    if (this.runs.get(run.id) !== run) return;
    this.opts.log.warn('job taken over by another coordinator; stopped here', { job: run.id, round: run.round.index, epoch: run.epoch });
    for (const s of run.round.shards) await this.dispatcher.revokeShard(s, 'job moved to another coordinator').catch(() => {});
    this.drop(run.id);
  }

  private fence(run: Run): Fence {
    return { jobId: run.id, owner: this.opts.owner, epoch: run.epoch };
  }

  /** Validate, store and start a job; returns its id. */
  async submit(input: unknown, tokenId: number | null): Promise<number> {
    const { spec, rounds } = await checkSubmission(input, { ...this.opts, allowlist: this.opts.modelAllowlist }, this.opts.limits ?? DEFAULT_LIMITS);
    const id = await this.opts.store.createJob({ name: spec.name, spec, totalRounds: rounds, tokenId });
    await this.claim();
    return id;
  }

  /** Check one result from an untrusted worker; accept it into its shard or refuse it with a code. */
  async result(workerId: string, meta: ResultMeta, frame: Frame): Promise<void> {
    const lease = this.dispatcher.leases.get(meta.assignmentId);
    if (!lease || lease.workerId !== workerId) throw new GridError('UNKNOWN_ASSIGNMENT', `assignment ${meta.assignmentId} is not leased to this worker`);
    if (!lease.live) throw new GridError('STALE_RESULT', `assignment ${meta.assignmentId} expired or was reassigned`);
    const run = this.runs.get(lease.jobId);
    const shard = this.dispatcher.shardOf(lease.jobId, lease.round, lease.shard);
    if (!run || !shard) throw new GridError('STALE_RESULT', 'the round has moved on');
    if (frame.job !== lease.jobId || frame.round !== lease.round || frame.shard !== lease.shard)
      throw new GridError('BAD_FRAME', `frame is for job ${frame.job} round ${frame.round} shard ${frame.shard}, not assignment ${meta.assignmentId}`);
    const row = (norm: number, accepted: boolean, reason: string | null): ResultRow => ({
      ...{ assignment_id: meta.assignmentId, job_id: run.id, round: lease.round, shard: lease.shard, worker_id: workerId },
      ...{ samples: meta.samples, loss: Number.isFinite(meta.loss) && Math.abs(meta.loss) < 1e300 ? meta.loss : -1, norm, bytes: frame.payload.byteLength },
      ...{ encoding: frame.dtype, accepted: accepted ? 1 : 0, reason },
    });
    let checked: { values: Float32Array; norm: number };
    try {
      checked = checkAnyResult(run, shard, meta, frame, lease.paramsVersion);
    } catch (e) {
      if (!(e instanceof GridError)) throw e;
      const recorded = await this.quarantine.refuse(shard, row(0, false, e.code), this.fence(run));
      if (!recorded) await this.abandon(run); // another coordinator owns the job now: nothing is recorded here
      throw e;
    }
    // Decide synchronously, before any await: only the result that completes the round closes it, exactly once.
    const round = run.round;
    this.dispatcher.settle(lease, shard);
    const inference = run.inference;
    shard.result = {
      ...{ workerId, tokenId: this.dispatcher.tokenOf(workerId), assignmentId: meta.assignmentId, values: checked.values },
      ...{ norm: checked.norm, rounding: encodingError(frame, checked.values) },
      // Inference accuracy is counted here from the outputs and the labels, never taken from the worker.
      ...{ samples: meta.samples, loss: meta.loss, correct: inference ? correctIn(inference, shard, checked.values) : (meta.correct ?? 0) },
    };
    const settled = this.verify(run, shard);
    const closes = !round.closing && roundComplete(round);
    if (closes) round.closing = true;
    else this.dispatcher.dispatchAll(); // the worker's next shard is leased while this result is written
    const output = { assignmentId: meta.assignmentId, workerId, provider: meta.provider ?? 'unreported', frame };
    const write = this.opts.store
      .recordOutcome(row(checked.norm, true, null), (r) => r, this.fence(run), inference && ((tx) => recordOutput(tx, run, shard, output)))
      .then(
        () => true,
        (e) => {
          this.opts.log.error('accepted result could not be recorded', { job: run.id, err: errorText(e) });
          return false;
        },
      );
    round.writes.push(write);
    if (!(await write)) {
      if (closes || !round.closing) {
        shard.result = undefined; // the shard is recomputed, and its failed write no longer holds the round back
        round.writes = round.writes.filter((w) => w !== write);
        round.closing = false;
      }
      throw new GridError('INTERNAL', 'the result could not be recorded; the shard will be recomputed');
    }
    this.opts.metrics.results.inc({ accepted: 'true', code: 'OK' });
    this.throughput.add(meta.samples, this.now());
    this.opts.metrics.resultBytes.inc({ encoding: frame.dtype }, frame.payload.byteLength);
    await this.quarantine.judge(run, settled);
    if (!closes) return; // the next shard was handed out before the write
    await this.closeRound(run);
    this.dispatcher.dispatchAll();
  }

  /** All shards are in: step the round (round-close.ts), evaluate when due, finish after the last; an inference job is done. */
  private async closeRound(run: Run) {
    const timer = this.opts.metrics.roundCloseSeconds.startTimer();
    try {
      if (run.inference) {
        await completeInference(this.opts, run, this.fence(run));
        return await this.finish(run);
      }
      const rates = (r: Run) => this.dispatcher.ratesFor(r);
      const ctx = { ...this.opts, pool: this.pool, quarantine: this.quarantine, leases: this.dispatcher.leases, fence: this.fence(run), rates };
      const closed = await stepRound(ctx, run);
      if (!closed) return;
      const spec = trainingSpec(run.spec);
      const round = run.round.index;
      if (spec.evalEvery > 0 && (closed.last || round % spec.evalEvery === 0)) {
        const evaluation = recordEvaluation(this.evaluator, { id: run.id, spec }, run.params.slice(), round, { ...this.opts, fence: this.fence(run) });
        if (closed.last) await evaluation;
        else this.pending = this.pending.then(() => evaluation);
      }
      if (closed.last) await this.finish(run);
    } catch (e) {
      if (e instanceof FencedError) await this.abandon(run);
      else await this.failJob(this.fence(run), 'round', e);
    } finally {
      timer();
    }
  }

  private async finish(run: Run) {
    this.drop(run.id);
    await this.opts.store.fenced(this.fence(run), (tx) => tx.setJobState(run.id, 'done', ['running', 'queued', 'paused']));
    this.opts.log.info('job finished', { job: run.id, rounds: run.round.index });
  }

  /** The job's failure boundary: stop running it, tell its workers, and put the reason on record. */
  private async failJob(fence: Fence, stage: 'load' | 'round', e: unknown) {
    const { jobId } = fence;
    const reason = `${stage === 'load' ? 'cannot load' : 'round failed'}: ${errorText(e)}`;
    this.opts.log.error('job failed', { job: jobId, reason });
    this.opts.metrics.jobsFailed.inc({ stage });
    const run = this.runs.get(jobId);
    if (run) for (const s of run.round.shards) await this.dispatcher.revokeShard(s, 'job failed').catch(() => {});
    this.drop(jobId);
    await this.opts.store
      .fenced(fence, (tx) => tx.setJobState(jobId, 'failed', ['queued', 'running', 'paused'], reason))
      .catch((err) => this.opts.log.error('could not mark job failed', { job: jobId, err: errorText(err) }));
  }

  private drop(jobId: number) {
    this.runs.delete(jobId);
    this.dispatcher.leases.prune(jobId);
  }

  /** Pause keeps finished shards and revokes leases; resume hands shards out again; cancel drops the job. */
  async control(jobId: number, action: 'pause' | 'resume' | 'cancel') {
    const job = await this.opts.store.job(jobId);
    if (!job) throw new GridError('NOT_FOUND', `no job ${jobId}`);
    const from = { pause: ['running', 'queued'], resume: ['paused'], cancel: ['running', 'queued', 'paused'] } as const;
    const to = { pause: 'paused', resume: 'running', cancel: 'cancelled' } as const;
    if (!(await this.opts.store.setJobState(jobId, to[action], [...from[action]])))
      throw new GridError('CONFLICT', `job ${jobId} is ${job.state}; cannot ${action}`);
    const run = this.runs.get(jobId);
    if (run) {
      if (action !== 'resume') for (const s of run.round.shards) await this.dispatcher.revokeShard(s, `job ${action}d`);
      if (action === 'cancel') this.drop(jobId);
      else run.state = action === 'pause' ? 'paused' : 'running';
    }
    this.dispatcher.dispatchAll();
  }

  /** Expire overdue leases, renew job ownership, waive checks nobody can run now, hand out what is free. */
  async tick() {
    await this.transfers.flush(this.opts.store).catch((e) => this.opts.log.warn('byte totals not recorded', { err: errorText(e) }));
    await this.dispatcher.revokeOverdue();
    await this.claim();
    for (const run of [...this.runs.values()]) {
      await this.quarantine.judge(run, this.verify(run));
      if (run.round.closing || !roundComplete(run.round)) continue;
      run.round.closing = true;
      await this.closeRound(run);
    }
  }

  /**
   * Settle redundant computations in the run's round (synchronous: it decides what the round still needs); an
   * outvoted worker's other results in the round are checked too. Class outputs must agree exactly.
   */
  private verify(run: Run, landed?: Shard) {
    const tolerance = run.inference && run.inference.post.kind !== 'raw' ? 0 : run.spec.redundancy.tolerance;
    const settled = verifyRound(run.round, landed, tolerance, (copy) => this.dispatcher.couldCheck(run, copy));
    for (const r of settled.outvoted) this.opts.metrics.rechecks.inc(recheck(run.round, r.workerId));
    return settled;
  }

  /** The parameters workers compute on at `version`: a delta when the caller holds the version before and there is one. */
  params(jobId: number, version: number, from?: number): Uint8Array {
    const run = this.runs.get(jobId);
    if (!run) throw new GridError('NOT_FOUND', `job ${jobId} is not running here`);
    if (version !== run.version) throw new GridError('STALE_VERSION', `version ${version} is not current (${run.version})`);
    return run.delta && from === version - 1 ? run.delta : run.paramsFrame;
  }

  /** Live status for the API (job-run.ts). */
  status(jobId: number) {
    const run = this.runs.get(jobId);
    return run && liveStatus(run, this.dispatcher.eligibleFor(run));
  }

  async idle() {
    await this.pending;
  }

  get workerCount() {
    return this.dispatcher.workerCount;
  }

  /** Entries in the lease table: bounded by the shards of the current and previous round of each running job. */
  get leaseCount() {
    return this.dispatcher.leases.size;
  }
}
