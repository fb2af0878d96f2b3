import { css, html, LitElement } from 'lit';

type Api = <T>(path: string, init?: RequestInit) => Promise<T>;

interface Dataset {
  name: string;
  split: string;
  source: string;
  samples: number;
  classes: number;
  createdAt: number;
}
interface Model {
  sha256: string;
  name: string;
  bytes: number;
  opset: number;
  inputs: { name: string; shape: (number | string)[] }[];
  outputs: { name: string; shape: (number | string)[] }[];
}

const shape = (t: { name: string; shape: (number | string)[] }) => `${t.name} [${t.shape.join(', ')}]`;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 1e6 ? 3 : 1)} MB`;

/** The data sets or the registered models this token may use, as tables: the console's data-set and model views. */
export class GridCatalogue extends LitElement {
  static override properties = { kind: {}, datasets: { state: true }, models: { state: true }, error: { state: true } };
  static override styles = css`
    :host { display: block; }
    table { border-collapse: collapse; width: 100%; } td, th { padding: 4px 8px; text-align: left; border-bottom: 1px solid #2a2f3a; }
    .wide { overflow-x: auto; } code { word-break: break-all; }
  `;
  kind: 'datasets' | 'models' = 'datasets';
  api?: Api;
  datasets: Dataset[] = [];
  models: Model[] = [];
  error = '';

  async refresh() {
    if (!this.api) return;
    try {
      if (this.kind === 'datasets') this.datasets = await this.api<Dataset[]>('/api/datasets');
      else this.models = await this.api<Model[]>('/api/models');
      this.error = '';
    } catch (e) {
      this.error = String((e as Error).message);
    }
  }

  override render() {
    const error = this.error ? html`<p role="alert">${this.error}</p>` : '';
    if (this.kind === 'datasets')
      return html`<h2>Data sets</h2>${error}
        <p>Fashion-MNIST is built in; upload CSV, text or .npy from the job form or with <code>POST /api/datasets/NAME/SPLIT</code>.</p>
        <div class="wide"><table id="datasets">
          <tr><th>name</th><th>split</th><th>samples</th><th>classes</th><th>source</th><th>added</th></tr>
          ${this.datasets.map(
            (d) => html`<tr><td>${d.name}</td><td>${d.split}</td><td>${d.samples.toLocaleString()}</td><td>${d.classes || '–'}</td>
              <td>${d.source.split(':')[0]}</td><td>${new Date(d.createdAt).toLocaleString()}</td></tr>`,
          )}
        </table></div>`;
    return html`<h2>Models</h2>${error}
      <p>ONNX models registered for inference and training (<code>POST /api/models?name=NAME</code>, or the job form).</p>
      <div class="wide"><table id="models">
        <tr><th>name</th><th>sha256</th><th>size</th><th>opset</th><th>inputs</th><th>outputs</th></tr>
        ${this.models.map(
          (m) => html`<tr><td>${m.name}</td><td><code title=${m.sha256}>${m.sha256.slice(0, 12)}…</code></td><td>${mb(m.bytes)}</td>
            <td>${m.opset}</td><td>${m.inputs.map(shape).join('; ')}</td><td>${m.outputs.map(shape).join('; ')}</td></tr>`,
        )}
      </table></div>`;
  }
}
customElements.define('grid-catalogue', GridCatalogue);
