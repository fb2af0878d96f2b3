import { Task } from '@lit/task';
import { css, html, LitElement } from 'lit';
import './chart';
import type { Series } from './chart';

interface Job {
  id: number;
  name: string;
  state: string;
  round: number;
  totalRounds: number;
  spec: { mode?: string };
}
interface Worker {
  id: string;
  name: string;
  kind: string;
  state: string;
  reputation: number;
  shardsDone: number;
  lastSeen: number;
  capabilities: { backend?: string; engines?: { engine: string; samplesPerSec: number }[] };
}
interface Metric {
  id: number;
  round: number;
  name: string;
  value: number;
}

const EXAMPLE = {
  name: 'fashion-mnist-mlp',
  model: { kind: 'mlp', layers: [784, 256, 128, 10] },
  dataset: { name: 'fashion-mnist', split: 'train', evalSplit: 'test' },
  optimizer: { kind: 'adamw', lr: 0.001, weightDecay: 0.0001 },
  globalBatch: 512,
  shardSize: 128,
  epochs: 5,
  checkpointEvery: 20,
  evalEvery: 50,
  evalSamples: 10000,
};

/** Researcher console: submit jobs, watch loss and accuracy live, pause/resume/cancel, download checkpoints. */
export class GridConsole extends LitElement {
  static override properties = { token: { state: true }, selected: { state: true }, message: { state: true }, metrics: { state: true } };
  static override styles = css`
    section { background: #171a21; border-radius: 12px; padding: 16px; margin: 12px 0; }
    textarea { width: 100%; height: 220px; font: 13px monospace; background: #0f1115; color: #e6e6e6; }
    input { font: inherit; width: 420px; }
    button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 0; background: #2563eb; color: #fff; cursor: pointer; margin-right: 6px; }
    table { border-collapse: collapse; width: 100%; } td, th { padding: 4px 8px; text-align: left; border-bottom: 1px solid #2a2f3a; }
    tr.sel { background: #223; } a { color: #7cb2ff; } tr.quarantined td { color: #f87171; }
  `;
  /** Kept for this tab's session only: a researcher token must not outlive the tab on a shared machine. */
  token = sessionStorage.getItem('grid-token') ?? '';
  selected?: number;
  message = '';
  metrics: Metric[] = [];
  private poll?: ReturnType<typeof setInterval>;

  private readonly jobs = new Task(this, {
    task: async ([token], { signal }) => (token ? this.api<Job[]>('/api/jobs', { signal }) : []),
    args: () => [this.token],
  });

  /** Every worker with its standing: quarantined ones and falling reputations are what an operator acts on. */
  private readonly workers = new Task(this, {
    task: async ([token], { signal }) => (token ? this.api<Worker[]>('/api/workers', { signal }) : []),
    args: () => [this.token],
  });

  private async api<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await fetch(path, { ...init, headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', ...init.headers } });
    const body = await res.json();
    if (!res.ok) throw new Error(`${body.error?.code}: ${body.error?.message}`);
    return body as T;
  }

  override connectedCallback() {
    super.connectedCallback();
    this.poll = setInterval(() => void this.refresh(), 2000);
  }
  override disconnectedCallback() {
    super.disconnectedCallback();
    clearInterval(this.poll);
  }

  private async refresh() {
    if (!this.token) return;
    void this.jobs.run();
    void this.workers.run();
    if (this.selected === undefined) return;
    const job = this.selected;
    const since = this.metrics.at(-1)?.id ?? 0;
    const fresh = await this.api<Metric[]>(`/api/jobs/${job}/metrics?since=${since}`).catch(() => []);
    if (job !== this.selected) return; // the answer is for a job no longer on screen
    if (fresh.length) this.metrics = [...this.metrics, ...fresh];
  }

  private async submit() {
    try {
      const spec = JSON.parse((this.renderRoot.querySelector('#spec') as HTMLTextAreaElement).value);
      const { id } = await this.api<{ id: number }>('/api/jobs', { method: 'POST', body: JSON.stringify(spec) });
      this.message = `job ${id} submitted`;
      this.select(id);
    } catch (e) {
      this.message = String((e as Error).message);
    }
  }

  private async control(id: number, action: string) {
    await this.api(`/api/jobs/${id}/${action}`, { method: 'POST' }).then(
      () => (this.message = `job ${id}: ${action}`),
      (e) => (this.message = String(e.message)),
    );
    void this.jobs.run();
  }

  /** The latest checkpoint (safetensors) or model (ONNX) of a job. */
  private async download(id: number, what: 'checkpoint' | 'onnx') {
    try {
      const list = await this.api<{ round: number }[]>(`/api/jobs/${id}/checkpoints`);
      const last = list.at(-1);
      if (!last) throw new Error(`job ${id} has no checkpoint yet`);
      const path = `/api/jobs/${id}/checkpoints/${last.round}${what === 'onnx' ? '/model.onnx' : ''}`;
      await this.save(path, `job-${id}-round-${last.round}.${what === 'onnx' ? 'onnx' : 'safetensors'}`);
    } catch (e) {
      this.message = String((e as Error).message);
    }
  }

  /** Fetched with the token in a header (never in a URL), then saved from memory. */
  private async save(path: string, filename: string) {
    const res = await fetch(path, { headers: { authorization: `Bearer ${this.token}` } });
    if (!res.ok) throw new Error(`${filename}: ${res.status}`);
    const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(await res.blob()), download: filename });
    a.click();
    URL.revokeObjectURL(a.href);
  }

  private select(id: number) {
    this.selected = id;
    this.metrics = [];
    void this.refresh();
  }

  private series(names: [string, string][]): Series[] {
    return names.map(([name, color]) => ({ name, color, points: this.metrics.filter((m) => m.name === name).map((m) => ({ x: m.round, y: m.value })) }));
  }

  override render() {
    return html`
      <h1>Researcher console</h1>
      <section>
        <label>API token <input id="token" type="password" .value=${this.token}
          @change=${(e: Event) => {
            this.token = (e.target as HTMLInputElement).value.trim();
            sessionStorage.setItem('grid-token', this.token);
          }} /></label>
        <p id="message">${this.message}</p>
      </section>
      <section>
        <h2>Jobs</h2>
        ${this.jobs.render({
          pending: () => html`loading…`,
          error: (e) => html`<p>${String(e)}</p>`,
          complete: (jobs) => html`<table id="jobs">
            <tr><th>id</th><th>name</th><th>state</th><th>round</th><th></th></tr>
            ${jobs.map(
              (j) => html`<tr class=${j.id === this.selected ? 'sel' : ''}>
              <td><a href="#" @click=${(e: Event) => {
                e.preventDefault();
                this.select(j.id);
              }}>${j.id}</a></td>
              <td>${j.name}</td><td class="state">${j.state}</td><td>${j.round} / ${j.totalRounds}</td>
              <td>
                <button @click=${() => this.control(j.id, 'pause')}>pause</button>
                <button @click=${() => this.control(j.id, 'resume')}>resume</button>
                <button @click=${() => this.control(j.id, 'cancel')}>cancel</button>
                ${
                  j.spec.mode === 'inference'
                    ? html`<button class="npy" @click=${() => this.save(`/api/jobs/${j.id}/output.npy`, `job-${j.id}-output.npy`)}>output.npy</button>
                      <button @click=${() => this.save(`/api/jobs/${j.id}/output.csv`, `job-${j.id}-output.csv`)}>output.csv</button>`
                    : html`<button @click=${() => this.download(j.id, 'checkpoint')}>checkpoint</button>
                      <button class="onnx" @click=${() => this.download(j.id, 'onnx')}>model.onnx</button>`
                }
              </td></tr>`,
            )}
          </table>`,
        })}
      </section>
      ${
        this.selected !== undefined
          ? html`<section id="charts">
            <h2>Job ${this.selected}</h2>
            <grid-chart label="loss" .series=${this.series([
              ['train_loss', '#f59e0b'],
              ['test_loss', '#ef4444'],
            ])}></grid-chart>
            <grid-chart label="accuracy" .series=${this.series([
              ['train_accuracy', '#22c55e'],
              ['test_accuracy', '#3b82f6'],
              ['accuracy', '#a855f7'],
            ])}></grid-chart>
          </section>`
          : ''
      }
      <section>
        <h2>Workers</h2>
        ${this.workers.render({
          error: (e) => html`<p>${String(e)}</p>`,
          complete: (workers) => html`<table id="workers">
            <tr><th>worker</th><th>kind</th><th>engine</th><th>state</th><th>reputation</th><th>shards</th><th>last seen</th></tr>
            ${workers.map(
              (w) => html`<tr class=${w.state}>
              <td title=${w.id}>${w.name}</td><td>${w.kind}</td><td title=${(w.capabilities.engines ?? []).map((e) => `${e.engine}: ${e.samplesPerSec} samples/s`).join('\n')}>${w.capabilities.engines?.[0]?.engine ?? w.capabilities.backend ?? ''}</td>
              <td class="state">${w.state}</td><td class="reputation">${w.reputation.toFixed(3)}</td>
              <td>${w.shardsDone}</td><td>${new Date(w.lastSeen).toLocaleTimeString()}</td></tr>`,
            )}
          </table>`,
        })}
      </section>
      <section>
        <h2><label for="spec">Submit a job</label></h2>
        <textarea id="spec" aria-describedby="message">${JSON.stringify(EXAMPLE, null, 2)}</textarea>
        <p><button id="submit" @click=${this.submit}>Submit</button></p>
      </section>`;
  }
}
customElements.define('grid-console', GridConsole);
