import { gatherBatch } from '../../protocol/dataset';
import type { CloseContext, Run } from '../jobs/kind';
import { primaries, type Shard, type ShardResult } from '../jobs/round';
import type { TrustLedger } from '../jobs/trust-ledger';
import { groupOf } from '../jobs/verification';
import { OnnxThread } from '../models/onnx-thread';
import type { InferenceState } from './load';
import { matchesRecomputed } from './outputs';

/** Registered models kept in shared memory for the checking thread, by hash (the most recent few). */
const KEPT_MODELS = 4;

/**
 * The coordinator's own check of inference outputs, the root of trust no coalition outvotes: at the job's close it
 * recomputes, on onnxruntime-node in a thread of its own, every shard whose redundant computations disagreed, and
 * each other result with a probability set by its worker's standing (all of a fresh identity's until one is verified, at
 * least one in twenty of an established one's). A wrong result is evidence against its worker alone; a right one earns it
 * standing. Which results are checked is drawn at the close, after they are all in: no worker can know in advance.
 */
export class InferenceReferee {
  private pool?: OnnxThread;
  private readonly models = new Map<string, Uint8Array>();
  /** Results already drawn for (checked or not), per job: a reopened round's close does not draw for them again. */
  private readonly drawnFor = new WeakMap<Run<InferenceState>, Set<number>>();

  constructor(private readonly ledger: TrustLedger) {}

  /** Check the round's results as above; returns the workers caught with a wrong one. */
  async check(run: Run<InferenceState>, ctx: Pick<CloseContext, 'store' | 'datasets' | 'trusted'>, random = Math.random): Promise<Set<string>> {
    const caught = new Set<string>();
    const groups = primaries(run.round).map((primary) => ({ primary, results: groupOf(run.round, primary).flatMap((s) => (s.result ? [s.result] : [])) }));
    await this.ledger.recall(
      groups.flatMap((g) => g.results.map((r) => r.workerId)),
      ctx.store,
    );
    for (const { primary, results } of groups) {
      const due = results.filter((r) => !ctx.trusted(r.workerId) && (primary.disputed || this.drawn(run, r, random)));
      if (!due.length) continue;
      const raw = await this.recompute(run, primary, ctx);
      for (const r of due) {
        const right = matchesRecomputed(run.data.plan, run.kind.tolerance(run), r, raw, primary.count);
        await this.ledger.checked(r.assignmentId, r.workerId, right, ctx.store);
        if (!right) caught.add(r.workerId);
      }
      primary.disputed = false; // decided: a later result for the shard is judged afresh
    }
    return caught;
  }

  /** Whether this result is among those checked: each drawn once, at its worker's rate. */
  private drawn(run: Run<InferenceState>, r: ShardResult, random: () => number) {
    const seen = this.drawnFor.get(run) ?? new Set<number>();
    this.drawnFor.set(run, seen);
    if (seen.has(r.assignmentId)) return false;
    seen.add(r.assignmentId);
    return random() < this.ledger.checkRate(r.workerId);
  }

  /** The shard's raw outputs as an honest worker computes them. */
  private async recompute(run: Run<InferenceState>, shard: Shard, ctx: Pick<CloseContext, 'store' | 'datasets'>): Promise<Float32Array> {
    const { spec, plan } = run.data;
    const data = ctx.datasets.get(spec.dataset.name, spec.dataset.split);
    const indices = Uint32Array.from({ length: shard.count }, (_, i) => shard.cursor + i);
    const { x } = gatherBatch(data.manifest, (c) => data.chunks[c], indices);
    const model = await this.model(spec.model.sha256, ctx.store);
    const feed = { model: { input: plan.input, output: plan.output }, inputShape: plan.inputShape, outputWidth: plan.width };
    this.pool ??= new OnnxThread();
    return this.pool.run({ sha256: spec.model.sha256, model, plan: feed, x, n: shard.count }, 'infer');
  }

  /** The model's bytes in shared memory: the thread reads them without a copy per check. */
  private async model(sha256: string, store: Pick<CloseContext, 'store'>['store']): Promise<Uint8Array> {
    let bytes = this.models.get(sha256);
    if (!bytes) {
      const data = await store.modelData(sha256);
      bytes = new Uint8Array(new SharedArrayBuffer(data.byteLength));
      bytes.set(data);
      if (this.models.size >= KEPT_MODELS) this.models.delete(this.models.keys().next().value as string);
      this.models.set(sha256, bytes);
    }
    return bytes;
  }

  async close() {
    await this.pool?.close();
  }
}
