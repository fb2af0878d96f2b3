import { GridError } from '../../protocol/errors';
import type { Frame } from '../../protocol/frames';
import type { JobSpec } from '../../protocol/job';
import { DEFAULT_LIMITS, type Limits } from '../config';
import type { DatasetRegistry } from '../data/dataset-registry';
import { errorText, type Logger } from '../log';
import type { Metrics } from '../metrics';
import { type AssignmentRow, type Fence, FencedError, type Job, type Store } from '../store/index';
import { Dispatcher, type WorkerLink } from './dispatcher';
import { acceptResult } from './intake';
import type { KindContext, KindTable, ResultMeta, Run } from './kind';
import { Quarantine } from './quarantine';
import type { Shard } from './round';
import { roundComplete } from './round';
import { checkSubmission, liveStatus, loadRun } from './runs';
import { RecentSamples, TransferLedger } from './transfer';
import { recheck, verifyRound } from './verification';
import { type WorkerPort, workerPort } from './worker-port';

export type { WorkerLink };

export interface SchedulerOptions {
  store: Store;
  datasets: DatasetRegistry;
  log: Logger;
  metrics: Metrics;
  owner: string;
  /** The kind that runs each spec mode (job-kinds.ts). */
  kinds: KindTable;
  now?: () => number;
  limits?: Pick<Limits, 'maxParams' | 'maxShardsPerRound' | 'maxRounds' | 'maxJobSamples'>;
  /** When set, inference jobs may only run these model hashes [GRID_MODEL_ALLOWLIST]. */
  modelAllowlist?: ReadonlySet<string>;
}

/** How long a claim on a job lasts without renewal (renewed every second); a frozen owner loses its jobs after this. */
const OWNERSHIP_MS = 15_000;

/**
 * Jobs in rounds of shards, whatever their kind: claim and load them, lease shards to workers, take results in
 * (intake.ts), verify redundant copies, and let the job's kind close each complete round. Each job runs inside its
 * own failure boundary: whatever throws while loading it or closing its round marks that job failed, nothing else.
 */
export class Scheduler {
  private readonly runs = new Map<number, Run>();
  private readonly now: () => number;
  private readonly ctx: KindContext;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private claiming = Promise.resolve();

  /** The worker registry, the leases and who gets which shard. */
  readonly dispatcher: Dispatcher;
  /** Bytes moved per worker and per job; the transport and the download routes count into it. */
  readonly transfers: TransferLedger;
  /** Samples in accepted results over the last minute, for the status summary. */
  readonly throughput = new RecentSamples();
  private readonly quarantine: Quarantine;
  /** The narrow door the worker transport uses: join, leave, ready, hand back, results, bytes. */
  readonly port: WorkerPort;

  constructor(private readonly opts: SchedulerOptions) {
    this.now = opts.now ?? Date.now;
    this.transfers = new TransferLedger((direction, bytes, job) => opts.metrics.jobBytes.inc({ job: String(job), direction }, bytes));
    opts.metrics.jobsNow = () =>
      [...this.runs.values()].map((run) => {
        const eligible = this.dispatcher.workers.eligibleFor(run);
        return { id: run.id, shards: liveStatus(run, eligible).shards, eligible };
      });
    this.ctx = { ...opts, limits: opts.limits ?? DEFAULT_LIMITS, allowlist: opts.modelAllowlist };
    const giveUp = (run: Run, reason: string) => this.failJob(this.fence(run), 'round', new Error(reason));
    this.dispatcher = new Dispatcher({ ...opts, runs: this.runs, now: this.now, stopped: () => this.stopped, giveUp });
    this.quarantine = new Quarantine({ ...opts, runs: this.runs, dispatcher: this.dispatcher });
    this.port = workerPort(this, this.dispatcher, this.transfers);
  }

  async start() {
    await this.claim();
    this.timer = setInterval(() => void this.tick().catch((e) => this.opts.log.error('tick failed', { err: errorText(e) })), 1000);
  }

  async stop() {
    this.stopped = true;
    clearInterval(this.timer);
    await this.transfers.flush(this.opts.store).catch(() => {});
    await this.idle();
    await this.flushLeases(); // after the last closes, so their rows go with them
    for (const kind of this.kinds()) await kind.shutdown?.();
  }

  /** The distinct kinds this scheduler runs. */
  private kinds() {
    const modes: JobSpec['mode'][] = ['sync', 'local', 'inference'];
    return [...new Set(modes.map((m) => this.opts.kinds(m)))];
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
        const run = await loadRun(job, this.opts.kinds, this.ctx);
        await this.opts.store.fenced(this.fence(run), async (tx) => {
          await tx.expireOpenAssignments(job.id);
          if (job.state === 'queued') await tx.setJobState(job.id, 'running', ['queued']);
          await tx.setJobProgress(job.id, run.round.index, run.version);
        });
        if (run.kind.finished(run)) await this.finish(run);
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
    for (const s of run.round.shards) await this.dispatcher.keeper.revokeShard(s, 'job moved to another coordinator').catch(() => {});
    this.drop(run.id);
  }

  private get ledger() {
    return this.dispatcher.keeper.ledger;
  }

  private fence(run: Run): Fence {
    return { jobId: run.id, owner: this.opts.owner, epoch: run.epoch };
  }

  /** Validate, store and start a job; returns its id. */
  async submit(input: unknown, tokenId: number | null): Promise<number> {
    const { spec, rounds } = await checkSubmission(input, this.opts.kinds, this.ctx);
    const id = await this.opts.store.createJob({ name: spec.name, spec, totalRounds: rounds, tokenId });
    await this.claim();
    return id;
  }

  /** Check one result from an untrusted worker; accept it into its shard or refuse it with a code (intake.ts). */
  async result(workerId: string, meta: ResultMeta, frame: Frame): Promise<void> {
    const closes = await acceptResult(
      { ...this.opts, now: this.now, runs: this.runs, dispatcher: this.dispatcher, quarantine: this.quarantine, throughput: this.throughput },
      {
        fence: (run) => this.fence(run),
        abandon: (run) => this.abandon(run),
        verify: (run, shard) => this.verify(run, shard),
      },
      workerId,
      meta,
      frame,
    );
    if (!closes) return; // the next shard was handed out before the write
    await this.closeRound(closes);
    this.dispatcher.dispatchAll();
  }

  /** All shards are in: the job's kind closes the round (and opens the next, or reopens this one); the last one finishes the job. */
  private async closeRound(run: Run) {
    const timer = this.opts.metrics.roundCloseSeconds.startTimer();
    try {
      const rates = () => this.dispatcher.placement.ratesFor(run);
      const ctx = {
        ...this.ctx,
        metrics: this.opts.metrics,
        fence: this.fence(run),
        rates,
        trusted: (workerId: string) => this.dispatcher.workers.get(workerId)?.link.trusted === true,
        reopen: (flagged: Set<string>, code?: 'OUTLIER' | 'MISMATCH') => this.quarantine.reopen(run, flagged, code),
        pruneLeases: (round: number) => this.dispatcher.leases.prune(run.id, round),
        unrecordedBytes: () => this.transfers.take(run.id),
        withLeases: <T>(write: (leases: AssignmentRow[]) => Promise<T>) => this.ledger.writeWith(run.id, write),
        afterwards: (write: Promise<unknown>) => void write.catch((e) => this.closeFailed(run, e)),
      };
      if ((await run.kind.closeRound(run, ctx)) === 'finished') await this.finish(run);
    } catch (e) {
      await this.closeFailed(run, e);
    } finally {
      timer();
    }
  }

  /** A close (or a write it left running) failed: another coordinator owns the job now, or the job fails. */
  private async closeFailed(run: Run, e: unknown) {
    if (this.runs.get(run.id) !== run) return; // already stopped here, by the close after it
    if (e instanceof FencedError) await this.abandon(run);
    else await this.failJob(this.fence(run), 'round', e);
  }

  private async finish(run: Run) {
    const written = this.ledger.flush(this.fence(run), (tx) => tx.setJobState(run.id, 'done', ['running', 'queued', 'paused']));
    this.drop(run.id);
    await written;
    this.opts.log.info('job finished', { job: run.id, rounds: run.round.index });
  }

  /** The job's failure boundary: stop running it, tell its workers, and put the reason on record. */
  private async failJob(fence: Fence, stage: 'load' | 'round', e: unknown) {
    const { jobId } = fence;
    const reason = `${stage === 'load' ? 'cannot load' : 'round failed'}: ${errorText(e)}`;
    this.opts.log.error('job failed', { job: jobId, reason });
    this.opts.metrics.jobsFailed.inc({ stage });
    const run = this.runs.get(jobId);
    if (run) for (const s of run.round.shards) await this.dispatcher.keeper.revokeShard(s, 'job failed').catch(() => {});
    const written = this.ledger.flush(fence, (tx) => tx.setJobState(jobId, 'failed', ['queued', 'running', 'paused'], reason));
    this.drop(jobId);
    await written.catch((err) => this.opts.log.error('could not mark job failed', { job: jobId, err: errorText(err) }));
  }

  /** Stop running the job here; lease rows not yet handed to a transaction are not this coordinator's to write. */
  private drop(jobId: number) {
    this.runs.delete(jobId);
    this.ledger.forget(jobId);
    this.opts.metrics.jobEnded(jobId);
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
      if (action !== 'resume') for (const s of run.round.shards) await this.dispatcher.keeper.revokeShard(s, `job ${action}d`);
      if (action === 'cancel') {
        await this.ledger.flush(this.fence(run)).catch((e) => this.opts.log.warn('lease rows not recorded', { job: jobId, err: errorText(e) }));
        this.drop(jobId);
      } else run.state = action === 'pause' ? 'paused' : 'running';
    }
    this.dispatcher.dispatchAll();
  }

  /** Expire overdue leases, renew job ownership, waive checks nobody can run now, hand out what is free. */
  async tick() {
    await this.transfers.flush(this.opts.store).catch((e) => this.opts.log.warn('byte totals not recorded', { err: errorText(e) }));
    await this.dispatcher.keeper.revokeOverdue();
    await this.claim();
    await this.flushLeases();
    for (const run of [...this.runs.values()]) {
      await this.quarantine.judge(run, this.verify(run));
      if (run.round.closing || !roundComplete(run.round)) continue;
      run.round.closing = true;
      await this.closeRound(run);
    }
  }

  /** Lease rows no result or close has written yet (a round still open, leases that lapsed): on record within a tick. */
  private async flushLeases() {
    for (const jobId of this.ledger.jobs()) {
      const run = this.runs.get(jobId);
      if (!run) this.ledger.forget(jobId);
      else await this.ledger.flush(this.fence(run)).catch((e) => this.opts.log.warn('lease rows not recorded', { job: jobId, err: errorText(e) }));
    }
  }

  /**
   * Settle redundant computations in the run's round (synchronous: it decides what the round still needs); an
   * outvoted worker's other results in the round are checked too. How close copies must be is the kind's call.
   */
  private verify(run: Run, landed?: Shard) {
    const couldCheck = (copy: Shard) => this.dispatcher.placement.couldCheck(run, copy);
    const settled = verifyRound(run.round, landed, run.kind.tolerance(run), couldCheck, run.kind.refereed);
    for (const r of settled.outvoted) this.opts.metrics.rechecks.inc(recheck(run.round, r.workerId));
    return settled;
  }

  /** The parameters workers compute on at `version`: a delta when the caller holds the version before and there is one. */
  params(jobId: number, version: number, from?: number): Uint8Array {
    const run = this.runs.get(jobId);
    if (!run?.kind.params) throw new GridError('NOT_FOUND', `job ${jobId} is not running here`);
    if (version !== run.version) throw new GridError('STALE_VERSION', `version ${version} is not current (${run.version})`);
    return run.kind.params(run, from);
  }

  /** Live status for the API, when the job runs here. */
  status(jobId: number) {
    const run = this.runs.get(jobId);
    return run && liveStatus(run, this.dispatcher.workers.eligibleFor(run));
  }

  /** What the job's kind adds to its API page (whether or not it runs here). */
  async kindStatus(job: Job): Promise<Record<string, unknown>> {
    const spec = JSON.parse(job.spec) as Pick<JobSpec, 'mode'>;
    return (await this.opts.kinds(spec.mode ?? 'sync').status?.(job, this.opts.store)) ?? {};
  }

  async idle() {
    for (const kind of this.kinds()) await kind.idle?.();
  }

  get workerCount() {
    return this.dispatcher.workerCount;
  }

  /** Entries in the lease table: bounded by the shards of the current and previous round of each running job. */
  get leaseCount() {
    return this.dispatcher.leases.size;
  }
}
