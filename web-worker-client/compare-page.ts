import { css, html, LitElement } from 'lit';
import './chart';
import { compareSpecs } from '../protocol/spec-diff';
import type { Series } from './chart';
import type { JobView, Metric } from './job-page';
import { smooth } from './smoothing';

/** One compared run: its job and every metric point it has. */
export interface ComparedRun {
  job: JobView;
  metrics: Metric[];
}

const COLORS = ['#f59e0b', '#60a5fa', '#22c55e', '#ef4444', '#a855f7', '#14b8a6', '#f472b6', '#eab308'];

/**
 * Runs side by side: each chart holds one metric of every run (a colour per run), smoothed as on a run page, and the
 * hyper-parameters as a table, the settings that differ between the runs marked (and, by default, alone).
 */
export class GridCompare extends LitElement {
  static override properties = { runs: { attribute: false }, smoothing: { state: true }, onlyDiffering: { state: true } };
  static override styles = css`
    table { border-collapse: collapse; width: 100%; } td, th { padding: 4px 8px; text-align: left; border-bottom: 1px solid #2a2f3a; }
    tr.differs td { color: #fbbf24; } td.key { color: #9aa4b2; font-family: monospace; }
    .controls { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: center; }
    .wide { overflow-x: auto; }
  `;
  runs: ComparedRun[] = [];
  smoothing = 0;
  onlyDiffering = true;

  private series(metric: string): Series[] {
    return this.runs.map(({ job, metrics }, i) => {
      const points = metrics.filter((m) => m.name === metric).map((m) => ({ x: m.round, y: m.value }));
      return { name: `job ${job.id} ${job.name}`, color: COLORS[i % COLORS.length], points: this.smoothing ? smooth(points, this.smoothing) : points };
    });
  }

  override render() {
    const rows = compareSpecs(this.runs.map((r) => r.job.spec)).filter((r) => r.differs || !this.onlyDiffering);
    return html`
      <h2 id="compare-title">Comparing jobs ${this.runs.map((r) => r.job.id).join(', ')}</h2>
      <div class="controls">
        <label>smoothing <input id="compare-smoothing" type="range" min="0" max="0.99" step="0.01" .value=${String(this.smoothing)}
          @input=${(e: Event) => (this.smoothing = Number((e.target as HTMLInputElement).value))} /> ${this.smoothing.toFixed(2)}</label>
        <label><input id="only-differing" type="checkbox" .checked=${this.onlyDiffering}
          @change=${(e: Event) => (this.onlyDiffering = (e.target as HTMLInputElement).checked)} /> only the settings that differ</label>
      </div>
      <grid-chart id="compare-loss" label="train_loss" .series=${this.series('train_loss')}></grid-chart>
      <grid-chart id="compare-accuracy" label="test_accuracy" .series=${this.series('test_accuracy')}></grid-chart>
      <h3>Hyper-parameters</h3>
      <div class="wide"><table id="hparams">
        <tr><th>setting</th>${this.runs.map((r) => html`<th>job ${r.job.id}</th>`)}</tr>
        ${rows.map((r) => html`<tr class=${r.differs ? 'differs' : ''}><td class="key">${r.key}</td>${r.values.map((v) => html`<td>${v}</td>`)}</tr>`)}
      </table></div>`;
  }
}
customElements.define('grid-compare', GridCompare);
