import { css, html, LitElement } from 'lit';
import { runLog } from '../protocol/run-log';
import { jobPace, throughput } from './pace';
import './chart';
import type { Series } from './chart';
import { smooth } from './smoothing';
import './text-samples';

export interface JobView {
  id: number;
  name: string;
  state: string;
  round: number;
  totalRounds: number;
  error: string | null;
  createdAt: number;
  /** When its state or round last changed: a finished job's end. */
  updatedAt: number;
  bytesUp: number;
  bytesDown: number;
  spec: Record<string, unknown> & { mode?: string; globalBatch?: number; shardSize?: number };
  providers?: Record<string, number>;
  /** What the coordinator running it says, when it is running here. */
  live?: { waiting?: string } | null;
}
export interface Metric {
  id: number;
  round: number;
  name: string;
  value: number;
  at: number;
}
interface JobWorker {
  id: string;
  name: string;
  kind: string;
  engine: { engine: string; adapter: string; samplesPerSec: number } | null;
  accepted: number;
  refused: number;
  /** Samples in its results that stand. */
  samples: number;
}
interface Refusal {
  workerId: string;
  round: number;
  shard: number;
  reason: string;
  createdAt: number;
}

export type Api = <T>(path: string, init?: RequestInit) => Promise<T>;

const ACTIONS: Record<string, string[]> = { running: ['pause', 'cancel'], queued: ['pause', 'cancel'], paused: ['resume', 'cancel'] };
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

/**
 * One job: spec, state and why, progress with ETA and speed, bytes moved, best accuracy, live charts (by round or by
 * time), the workers on it and its latest refusals, the controls that apply now, and its downloads.
 */
export class GridJobPage extends LitElement {
  static override properties = {
    job: { attribute: false },
    metrics: { attribute: false },
    detail: { state: true },
    byTime: { state: true },
    smoothing: { state: true },
    logLoss: { state: true },
  };
  static override styles = css`
    dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0; }
    dt { color: #9aa4b2; } dd { margin: 0; }
    button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 0; background: #2563eb; color: #fff; cursor: pointer; margin: 0 6px 6px 0; }
    button.danger { background: #b91c1c; }
    table { border-collapse: collapse; width: 100%; } td, th { padding: 4px 8px; text-align: left; border-bottom: 1px solid #2a2f3a; }
    pre { background: #0f1115; padding: 8px; overflow: auto; font-size: 12px; max-height: 240px; }
    .err { color: #f87171; }
    .wide { overflow-x: auto; }
    .log { max-height: 240px; overflow-y: auto; } tr.refusal td { color: #fca5a5; }
    .controls { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: center; }
    .hint { color: #9aa4b2; font-size: 13px; }
    .shares { display: grid; grid-template-columns: minmax(0, max-content) 1fr max-content; gap: 4px 12px; align-items: center; }
    .shares meter { width: 100%; }
  `;
  job?: JobView;
  metrics: Metric[] = [];
  detail?: { workers: JobWorker[]; refusals: Refusal[] };
  byTime = false;
  /** The charts' moving-average weight (0: raw points only). */
  smoothing = 0;
  logLoss = false;
  api?: Api;

  /** Refresh the workers and refusals (the page's owner refreshes the job and its metrics). */
  async refreshDetail() {
    if (this.job && this.api)
      this.detail = await this.api<{ workers: JobWorker[]; refusals: Refusal[] }>(`/api/jobs/${this.job.id}/workers`).catch(() => this.detail);
  }

  private emit(name: string, detail: unknown) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  private control(action: string) {
    if (action === 'cancel' && !confirm(`Cancel job ${this.job?.id}? Its progress is kept but it will not run again.`)) return;
    this.emit('control-job', { id: this.job?.id, action });
  }

  /** Each metric's points (times `scale`); smoothed, its raw points drawn faded (alpha 0x55) under the smoothed line. */
  private series(names: [string, string][], scale = 1): Series[] {
    const x = (m: Metric) => (this.byTime ? m.at : m.round);
    return names.flatMap(([name, color]) => {
      const points = this.metrics.filter((m) => m.name === name).map((m) => ({ x: x(m), y: m.value * scale }));
      if (!this.smoothing || !points.length) return [{ name, color, points }];
      return [
        { name, color: `${color}55`, points, faded: true },
        { name: `${name} smoothed`, color, points: smooth(points, this.smoothing) },
      ];
    });
  }

  private chartControls(id: number) {
    const value = (e: Event) => (e.target as HTMLInputElement).value;
    return html`<div class="controls">
      <label><input id="by-time" type="checkbox" .checked=${this.byTime} @change=${(e: Event) => (this.byTime = (e.target as HTMLInputElement).checked)} /> x axis: time</label>
      <label>smoothing <input id="smoothing" type="range" min="0" max="0.99" step="0.01" .value=${String(this.smoothing)}
        @input=${(e: Event) => (this.smoothing = Number(value(e)))} /> <output id="smoothing-value">${this.smoothing.toFixed(2)}</output></label>
      <label><input id="log-loss" type="checkbox" .checked=${this.logLoss} @change=${(e: Event) => (this.logLoss = (e.target as HTMLInputElement).checked)} /> loss on a log scale</label>
      <span class="hint">drag across a chart to zoom in, double-click to see it all</span>
      <button id="job-metrics-csv" @click=${() => this.emit('download', { path: `/api/jobs/${id}/metrics.csv`, name: `job-${id}-metrics.csv` })}>metrics.csv</button>
      <button id="job-metrics-json" @click=${() => this.emit('download', { path: `/api/jobs/${id}/metrics.json`, name: `job-${id}-metrics.json` })}>metrics.json</button>
    </div>`;
  }

  /** Each worker's share of the samples that stand, largest first. */
  private contribution() {
    const workers = [...(this.detail?.workers ?? [])].sort((a, b) => b.samples - a.samples);
    const total = workers.reduce((n, w) => n + w.samples, 0);
    if (!total) return html``;
    return html`<h3>Contribution</h3><div class="shares" id="contribution">
      ${workers.map((w) => {
        const share = w.samples / total;
        return html`<span title=${w.id}>${w.name}</span><meter min="0" max="1" .value=${share} aria-label=${`${w.name}'s share`}></meter>
          <span class="share">${(share * 100).toFixed(1)}% (${w.samples.toLocaleString('en')} samples)</span>`;
      })}</div>`;
  }

  override render() {
    const j = this.job;
    if (!j) return html``;
    const inference = j.spec.mode === 'inference';
    // A language model: a GPT, or any model whose evaluations are scored per character of text.
    const language = (j.spec.model as { kind?: string } | undefined)?.kind === 'gpt' || this.metrics.some((m) => m.name === 'test_bits_per_char');
    const best = Math.max(0, ...this.metrics.filter((m) => m.name === (inference ? 'accuracy' : 'test_accuracy')).map((m) => m.value));
    const rounds = this.metrics.filter((m) => m.name === (inference ? 'accuracy' : 'train_loss'));
    const { rate, eta } = jobPace(j, Date.now(), rounds);
    const reason = j.error ?? (j.live?.waiting ? `waiting: ${j.live.waiting}` : j.state === 'queued' ? 'waiting for a coordinator to take it' : '');
    return html`
      <h2 id="job-title">Job ${j.id}: ${j.name}</h2>
      <dl>
        <dt>State</dt><dd id="job-state">${j.state}${reason ? html` <span class=${j.error ? 'err' : ''}>(${reason})</span>` : ''}</dd>
        <dt>Progress</dt><dd id="job-progress">${j.round} / ${j.totalRounds} ${inference ? 'shards' : 'rounds'}${eta !== undefined ? `, about ${Math.ceil(eta / 60)} min left` : ''}</dd>
        <dt>Speed</dt><dd>${rate.toFixed(0)} samples/s</dd>
        <dt>Bytes moved</dt><dd id="job-bytes">${mb(j.bytesUp)} up, ${mb(j.bytesDown)} down</dd>
        <dt>Best ${inference ? 'accuracy' : 'test accuracy'}</dt><dd id="job-best">${best ? `${(best * 100).toFixed(2)}%` : '–'}</dd>
        ${
          j.providers
            ? html`<dt>Providers</dt><dd>${Object.entries(j.providers)
                .map(([p, n]) => `${p}: ${n}`)
                .join(', ')}</dd>`
            : ''
        }
      </dl>
      <div>
        ${(ACTIONS[j.state] ?? []).map((a) => html`<button class=${a === 'cancel' ? 'danger' : ''} id=${`job-${a}`} @click=${() => this.control(a)}>${a}</button>`)}
        ${
          inference
            ? html`<button @click=${() => this.emit('download', { path: `/api/jobs/${j.id}/output.npy`, name: `job-${j.id}-output.npy` })}>output.npy</button>
              <button @click=${() => this.emit('download', { path: `/api/jobs/${j.id}/output.csv`, name: `job-${j.id}-output.csv` })}>output.csv</button>`
            : html`<button id="job-onnx" @click=${() => this.emit('download-latest', { id: j.id, what: 'onnx' })}>model.onnx</button>
              <button @click=${() => this.emit('download-latest', { id: j.id, what: 'checkpoint' })}>checkpoint (safetensors)</button>`
        }
      </div>
      ${this.chartControls(j.id)}
      <grid-chart id="loss-chart" label="loss" .logY=${this.logLoss} .xLabel=${this.byTime ? 'time' : 'round'} .series=${this.series([
        ['train_loss', '#f59e0b'],
        ['test_loss', '#ef4444'],
      ])}></grid-chart>
      ${
        language
          ? html`<grid-text-samples .api=${this.api} .jobId=${j.id} .evaluations=${this.metrics.filter((m) => m.name === 'test_bits_per_char').length}></grid-text-samples>`
          : ''
      }
      <grid-chart id="accuracy-chart" label="accuracy" .xLabel=${this.byTime ? 'time' : 'round'} .series=${this.series([
        ['train_accuracy', '#22c55e'],
        ['test_accuracy', '#60a5fa'],
        ['accuracy', '#a855f7'],
      ])}></grid-chart>
      <grid-chart id="throughput-chart" label="samples/s" .series=${[{ name: 'samples/s', color: '#14b8a6', points: throughput(j, rounds) }]}></grid-chart>
      <grid-chart id="bytes-chart" label="MB moved so far" .xLabel=${this.byTime ? 'time' : 'round'} .series=${this.series(
        [
          ['bytes_up', '#f472b6'],
          ['bytes_down', '#818cf8'],
        ],
        1e-6,
      )}></grid-chart>
      ${this.contribution()}
      <h3>Run log</h3>
      <div class="wide log"><table id="run-log">
        ${runLog(j, this.metrics, this.detail?.refusals ?? []).map(
          (l) => html`<tr class=${l.kind}><td>${new Date(l.at).toLocaleTimeString()}</td><td>${l.kind}</td><td>${l.text}</td></tr>`,
        )}
      </table></div>
      <h3>Workers on this job</h3>
      <div class="wide"><table id="job-workers">
        <tr><th>worker</th><th>kind</th><th>engine</th><th>adapter</th><th>rate</th><th>accepted</th><th>refused</th></tr>
        ${(this.detail?.workers ?? []).map(
          (w) => html`<tr><td title=${w.id}>${w.name}</td><td>${w.kind}</td><td>${w.engine?.engine ?? ''}</td><td>${w.engine?.adapter ?? ''}</td>
            <td>${w.engine ? `${w.engine.samplesPerSec.toLocaleString()} samples/s` : ''}</td><td>${w.accepted}</td><td>${w.refused}</td></tr>`,
        )}
      </table></div>
      <h3>Recent refusals</h3>
      <div class="wide"><table id="job-refusals">
        <tr><th>when</th><th>worker</th><th>round</th><th>shard</th><th>code</th></tr>
        ${(this.detail?.refusals ?? []).map(
          (r) =>
            html`<tr><td>${new Date(r.createdAt).toLocaleTimeString()}</td><td>${r.workerId.slice(0, 8)}</td><td>${r.round}</td><td>${r.shard}</td><td>${r.reason}</td></tr>`,
        )}
      </table></div>
      <details><summary>Spec</summary><pre>${JSON.stringify(j.spec, null, 2)}</pre></details>`;
  }
}
customElements.define('grid-job-page', GridJobPage);
