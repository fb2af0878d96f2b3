import { css, html, LitElement } from 'lit';
import { parseJobSpec } from '../protocol/job';
import { type Fields, fieldOf, type Json, specOf, TRAINING, trafficOf } from './job-spec';
import { fieldsOf, PRESETS, presetOf } from './spec-fields';
import './upload-form';

/**
 * The job form: every field checked as it is typed by the same schema the server uses, the error shown at its
 * field; the spec as JSON one click away and editable, kept in step with the fields both ways (a pasted spec fills
 * them, and what no field shows is kept); presets by who will compute it; the server's refusal shown at its field.
 */
export class GridJobForm extends LitElement {
  static override properties = {
    fields: { state: true },
    errors: { state: true },
    json: { state: true },
    jsonError: { state: true },
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
  /** The JSON last pasted or typed, which the fields are laid on (what no field shows is kept from it). */
  private base: Json = {};
  /** The JSON box's text: the spec the fields make, or what is being typed there. */
  json = rawJson(this.fields, this.base);
  jsonError = '';

  /** The connection cost of the spec as it stands (training jobs whose model size is known here). */
  private traffic() {
    const t = trafficOf(this.fields, this.base);
    if (!t) return '';
    return html`<p id="f-traffic">${t.line}</p>${t.warning ? html`<p class="error" id="f-traffic-warning" role="status">${t.warning}</p>` : ''}`;
  }

  /** Check the spec the fields make now; field errors are shown, the spec returned when it is valid. */
  check(): Record<string, unknown> | undefined {
    try {
      const spec = specOf(this.fields, this.base);
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
    this.setFields({ ...this.fields, [key]: value });
  }

  private setFields(fields: Fields) {
    this.fields = fields;
    this.check();
    this.json = rawJson(this.fields, this.base);
    this.jsonError = '';
  }

  /** JSON typed or pasted: once the server's schema accepts it, it fills the fields; its error shows here and at its field. */
  private typeJson(text: string) {
    this.json = text;
    try {
      const raw = JSON.parse(text) as unknown;
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('a job spec is a JSON object');
      this.fields = fieldsOf(raw as Json, this.fields);
      this.base = raw as Json;
      this.jsonError = '';
      this.errors = {};
    } catch (e) {
      this.jsonError = String((e as Error).message);
      this.showError(this.jsonError);
    }
  }

  private submit(e: Event) {
    e.preventDefault();
    if (this.jsonError) return this.showError(`the JSON box: ${this.jsonError}`); // not the fields' older spec in its place
    const spec = this.check();
    if (spec) this.dispatchEvent(new CustomEvent('submit-job', { detail: spec, bubbles: true, composed: true }));
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
    const datasets = [...new Set([...this.datasets, f.dataset])].map((d): [string, string] => [d, d]);
    const preset = presetOf(f);
    return html`
      <form @submit=${this.submit} novalidate>
        ${this.input('name', 'Name')}
        ${
          inference
            ? ''
            : html`<label>Preset, by who will compute it
          <select id="f-preset" @change=${(e: Event) => this.setFields({ ...this.fields, ...PRESETS[(e.target as HTMLSelectElement).value]?.fields })}>
            ${Object.entries(PRESETS).map(([name, p]) => html`<option value=${name} ?selected=${preset === name}>${p.intent}</option>`)}
            ${preset === 'custom' ? html`<option value="custom" selected>custom</option>` : ''}
          </select></label>`
        }
        ${this.choice('kind', 'Model', [
          ['mlp', 'MLP (train)'],
          ['cnn', 'CNN (train)'],
          ['layers', 'Layer list (train)'],
          ['finetune', 'Registered ONNX model (fine-tune)'],
          ['inference', 'Registered ONNX model (inference)'],
          ...(f.kind === 'other' ? [['other', 'as the JSON below says (train)'] as [string, string]] : []),
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
        ${inference ? '' : this.input('crop', 'Augment: random shift (pixels, images only)', 'number')}
        ${
          inference
            ? ''
            : this.choice('flip', 'Augment: mirror left-right', [
                ['no', 'no'],
                ['yes', 'half the samples'],
              ])
        }
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
        ${
          inference
            ? ''
            : this.choice('workers', 'Who may compute it', [
                ['any', 'anyone: volunteers and native workers'],
                ['native', 'native workers only'],
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
      <grid-upload-form></grid-upload-form>
      <details><summary>JSON (edit it, or paste a spec such as the README's: the fields follow)</summary>
        <label>The spec
          <textarea id="json" rows="14" spellcheck="false" aria-invalid=${this.jsonError ? 'true' : 'false'} aria-describedby="e-json" .value=${this.json}
            @input=${(e: Event) => this.typeJson((e.target as HTMLTextAreaElement).value)}></textarea></label>
        <p class="error" id="e-json" role="status">${this.jsonError}</p>
      </details>`;
  }
}
/** The spec as JSON, or why the fields do not make one yet. */
function rawJson(f: Fields, base: Json): string {
  try {
    return JSON.stringify(specOf(f, base), null, 2);
  } catch (e) {
    return String((e as Error).message);
  }
}

customElements.define('grid-job-form', GridJobForm);
