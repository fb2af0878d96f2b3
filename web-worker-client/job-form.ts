import { css, html, LitElement } from 'lit';
import { parseJobSpec } from '../protocol/job';
import { type Fields, fieldOf, specOf, TRAINING, trafficOf } from './job-spec';

/**
 * The job form: every field checked as it is typed by the same schema the server uses, the error shown at its
 * field; the raw JSON one click away; the server's refusal, if any, shown at the field it names.
 */
export class GridJobForm extends LitElement {
  static override properties = {
    fields: { state: true },
    errors: { state: true },
    pasteError: { state: true },
    datasets: { attribute: false },
    models: { attribute: false },
  };
  static override styles = css`
    form { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 10px 16px; }
    label { display: flex; flex-direction: column; font-size: 13px; color: #9aa4b2; }
    .wide { grid-column: 1 / -1; }
    input, select, textarea { font: inherit; color: #e6e6e6; background: #0f1115; border: 1px solid #2a2f3a; border-radius: 6px; padding: 5px; }
    [aria-invalid='true'] { border-color: #f87171; }
    .error { color: #f87171; font-size: 12px; min-height: 1em; }
    pre { background: #0f1115; padding: 8px; overflow: auto; font-size: 12px; }
    button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 0; background: #2563eb; color: #fff; cursor: pointer; }
  `;
  fields: Fields = { ...TRAINING };
  errors: Record<string, string> = {};
  datasets: string[] = ['fashion-mnist/train', 'fashion-mnist/test'];
  models: { sha256: string; name: string }[] = [];
  /** A pasted spec (the README's, say), submitted as it is once the same schema accepts it. */
  private pasted = '';
  pasteError = '';

  /** The connection cost of the spec as it stands (training jobs whose model size is known here). */
  private traffic() {
    const t = trafficOf(this.fields);
    if (!t) return '';
    return html`<p id="f-traffic">${t.line}</p>${t.warning ? html`<p class="error" id="f-traffic-warning" role="status">${t.warning}</p>` : ''}`;
  }

  /** Check the spec the fields make now; field errors are shown, the spec returned when it is valid. */
  check(): Record<string, unknown> | undefined {
    try {
      const spec = specOf(this.fields);
      parseJobSpec(spec);
      this.errors = {};
      return spec;
    } catch (e) {
      this.showError(String((e as Error).message));
      return undefined;
    }
  }

  /** Show a refusal (the schema's or the server's) at the field it is about, or under the form. */
  showError(message: string) {
    const field = fieldOf(message, Object.keys(this.fields)) ?? 'form';
    // A training job's model is described by the model kind and sizes: its errors go there (a layer list's, to the list).
    const kind = this.fields.kind;
    const model = kind === 'layers' ? 'layerList' : kind === 'finetune' ? 'model' : 'kind';
    this.errors = { [(field === 'model' && kind !== 'inference') || (field === 'layers' && kind === 'layers') ? model : field]: message };
  }

  /** Set a field from outside (a data set just uploaded) and check the spec again. */
  choose(key: string, value: string) {
    this.set(key, value);
  }

  private set(key: string, value: string) {
    this.fields = { ...this.fields, [key]: value };
    this.check();
  }

  private submit(e: Event) {
    e.preventDefault();
    const spec = this.check();
    if (spec) this.dispatchEvent(new CustomEvent('submit-job', { detail: spec, bubbles: true, composed: true }));
  }

  private submitPasted() {
    try {
      const spec = JSON.parse(this.pasted) as Record<string, unknown>;
      parseJobSpec(spec);
      this.pasteError = '';
      this.dispatchEvent(new CustomEvent('submit-job', { detail: spec, bubbles: true, composed: true }));
    } catch (e) {
      this.pasteError = String((e as Error).message);
    }
  }

  /** Hand the file to the console, which uploads it with the token and selects it here once registered. */
  private upload(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement;
    const file = field('file').files?.[0];
    if (file)
      this.dispatchEvent(
        new CustomEvent('upload-dataset', { detail: { file, name: field('name').value, split: field('split').value }, bubbles: true, composed: true }),
      );
  }

  private input(key: string, label: string, type = 'text') {
    const error = this.errors[key];
    return html`<label>${label}
      <input id=${`f-${key}`} type=${type} .value=${this.fields[key]} aria-invalid=${error ? 'true' : 'false'} aria-describedby=${`e-${key}`}
        @input=${(e: Event) => this.set(key, (e.target as HTMLInputElement).value)} />
      <span class="error" id=${`e-${key}`}>${error ?? ''}</span></label>`;
  }

  private textArea(key: string, label: string) {
    const error = this.errors[key];
    return html`<label class="wide">${label}
      <textarea id=${`f-${key}`} rows="6" spellcheck="false" .value=${this.fields[key]} aria-invalid=${error ? 'true' : 'false'} aria-describedby=${`e-${key}`}
        @input=${(e: Event) => this.set(key, (e.target as HTMLTextAreaElement).value)}></textarea>
      <span class="error" id=${`e-${key}`}>${error ?? ''}</span></label>`;
  }

  private choice(key: string, label: string, options: [string, string][]) {
    const error = this.errors[key];
    return html`<label>${label}
      <select id=${`f-${key}`} aria-invalid=${error ? 'true' : 'false'} aria-describedby=${`e-${key}`}
        @change=${(e: Event) => this.set(key, (e.target as HTMLSelectElement).value)}>
        ${options.map(([v, text]) => html`<option value=${v} ?selected=${this.fields[key] === v}>${text}</option>`)}
      </select>
      <span class="error" id=${`e-${key}`}>${error ?? ''}</span></label>`;
  }

  override render() {
    const f = this.fields;
    const inference = f.kind === 'inference';
    const datasets = this.datasets.map((d): [string, string] => [d, d]);
    return html`
      <form @submit=${this.submit} novalidate>
        ${this.input('name', 'Name')}
        ${this.choice('kind', 'Model', [
          ['mlp', 'MLP (train)'],
          ['cnn', 'CNN (train)'],
          ['layers', 'Layer list (train)'],
          ['finetune', 'Registered ONNX model (fine-tune)'],
          ['inference', 'Registered ONNX model (inference)'],
        ])}
        ${f.kind === 'mlp' ? this.input('layers', 'Layer widths, input to classes') : ''}
        ${f.kind === 'cnn' ? this.input('channels', 'Conv channels (two)') : ''}
        ${f.kind === 'layers' ? this.input('input', 'Sample shape (features, or channels,height,width)') : ''}
        ${f.kind === 'layers' ? this.textArea('layerList', 'Layers (JSON)') : ''}
        ${
          f.kind === 'finetune'
            ? this.choice('loss', 'Loss', [
                ['cross-entropy', 'cross-entropy (one output per class)'],
                ['binary-cross-entropy', 'binary cross-entropy (one output, labels 0/1)'],
              ])
            : ''
        }
        ${inference || f.kind === 'finetune' ? this.choice('model', 'Registered model', [['', 'choose…'], ...this.models.map((m): [string, string] => [m.sha256, `${m.name} (${m.sha256.slice(0, 8)})`])]) : ''}
        ${inference ? this.input('output', 'Output to keep (default: first)') : ''}
        ${
          inference
            ? this.choice('postprocess', 'Post-processing', [
                ['argmax', 'argmax'],
                ['topk:5', 'top 5'],
                ['raw', 'raw'],
              ])
            : ''
        }
        ${this.choice('dataset', 'Data set', datasets)}
        ${inference ? '' : this.input('evalSplit', 'Evaluation split')}
        ${
          inference
            ? ''
            : this.choice('optimizer', 'Optimizer', [
                ['adamw', 'AdamW'],
                ['adam', 'Adam'],
                ['sgd', 'SGD'],
              ])
        }
        ${inference ? '' : this.input('lr', 'Learning rate', 'number')}
        ${inference ? '' : this.input('globalBatch', 'Global batch (samples per round)', 'number')}
        ${this.input('shardSize', 'Shard size (samples)', 'number')}
        ${inference ? '' : this.input('epochs', 'Epochs', 'number')}
        ${
          inference
            ? ''
            : this.choice('mode', 'Mode', [
                ['sync', 'synchronous'],
                ['local', 'local steps (DiLoCo)'],
              ])
        }
        ${!inference && f.mode === 'local' ? this.input('steps', 'Local steps per shard', 'number') : ''}
        ${
          !inference && f.mode === 'sync'
            ? this.choice('shardSizing', 'Shard sizes', [
                ['fixed', 'shard size each'],
                ['by-rate', "by the workers' measured speed"],
              ])
            : ''
        }
        ${
          inference
            ? ''
            : this.choice('encoding', 'Results', [
                ['fp32', 'fp32'],
                ['fp16', 'fp16'],
                ['int8', 'int8'],
              ])
        }
        ${
          inference
            ? ''
            : this.choice('download', 'Parameter downloads', [
                ['fp32', 'fp32 copies'],
                ['int8-delta', 'int8 deltas'],
              ])
        }
        ${this.traffic()}
        ${
          inference
            ? ''
            : this.choice('rule', 'Aggregation', [
                ['mean', 'mean'],
                ['trimmed-mean', 'trimmed mean'],
                ['median', 'median'],
                ['centered-clip', 'centered clip'],
              ])
        }
        ${inference ? '' : this.input('fraction', 'Checked by redundancy (fraction)', 'number')}
        <div><button id="submit" type="submit">Submit</button><p class="error" id="e-form">${this.errors.form ?? ''}</p></div>
      </form>
      <details id="upload"><summary>Upload a data set or a model</summary>
        <form @submit=${this.upload}>
          <label>File: a data set (CSV, features then the label; or a numpy .npy of inputs), or an ONNX model to run
            <input name="file" type="file" accept=".csv,.npy,.onnx,text/csv" required /></label>
          <label>Name <input name="name" pattern="[A-Za-z0-9][A-Za-z0-9._-]*" required /></label>
          <label>Split <input name="split" value="train" pattern="[A-Za-z0-9_-]+" required /></label>
          <button type="submit">Upload</button>
        </form>
      </details>
      <details><summary>Raw JSON</summary><pre id="raw">${rawJson(f)}</pre>
        <label>Or paste a spec (the README's, say)
          <textarea id="paste" rows="8" aria-describedby="e-paste" @input=${(e: Event) => {
            this.pasted = (e.target as HTMLTextAreaElement).value;
          }}></textarea></label>
        <button id="submit-json" type="button" @click=${() => this.submitPasted()}>Submit this JSON</button>
        <p class="error" id="e-paste">${this.pasteError}</p>
      </details>`;
  }
}
/** The spec as JSON, or why the fields do not make one yet. */
function rawJson(f: Fields): string {
  try {
    return JSON.stringify(specOf(f), null, 2);
  } catch (e) {
    return String((e as Error).message);
  }
}

customElements.define('grid-job-form', GridJobForm);
