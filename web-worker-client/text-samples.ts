import { css, html, LitElement, type PropertyValues } from 'lit';

type Api = <T>(path: string, init?: RequestInit) => Promise<T>;

/** A continuation the job's language model wrote at an evaluation (GET /api/jobs/:id/samples). */
interface TextSample {
  round: number;
  seq: number;
  prompt: string;
  text: string;
}

const number = (form: FormData, name: string) => Number(form.get(name));

/**
 * A language model's text on its job page: what it wrote at its latest evaluation (refetched when another evaluation
 * is recorded), and a prompt box that continues any text with the latest checkpoint (POST /api/jobs/:id/generate).
 */
export class GridTextSamples extends LitElement {
  static override properties = {
    api: { attribute: false },
    jobId: { attribute: false },
    evaluations: { attribute: false },
    samples: { state: true },
    generated: { state: true },
    busy: { state: true },
    error: { state: true },
  };
  static override styles = css`
    pre { background: #0f1115; padding: 8px; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 13px; margin: 4px 0; }
    pre b { color: #60a5fa; font-weight: normal; }
    form { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: end; }
    label { display: flex; flex-direction: column; color: #9aa4b2; font-size: 13px; }
    label.prompt { flex: 1 1 100%; }
    textarea, input { font: inherit; background: #0f1115; color: inherit; border: 1px solid #2a2f3a; border-radius: 6px; padding: 4px 6px; }
    input { width: 6em; }
    button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 0; background: #2563eb; color: #fff; cursor: pointer; }
    .hint { color: #9aa4b2; font-size: 13px; } .err { color: #f87171; }
  `;
  jobId?: number;
  /** How many evaluations the job has recorded: a new one brings new samples. */
  evaluations = 0;
  api?: Api;
  samples: TextSample[] = [];
  generated?: { prompt: string; text: string };
  busy = false;
  error = '';

  protected override updated(changed: PropertyValues) {
    if (changed.has('api') || changed.has('jobId') || changed.has('evaluations')) void this.refresh();
  }

  async refresh() {
    if (!this.api || this.jobId === undefined) return;
    this.samples = await this.api<TextSample[]>(`/api/jobs/${this.jobId}/samples`).catch(() => this.samples);
  }

  private async generate(e: SubmitEvent) {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const request = {
      prompt: String(form.get('prompt')),
      maxTokens: number(form, 'maxTokens'),
      temperature: number(form, 'temperature'),
      seed: number(form, 'seed'),
      ...(number(form, 'topK') > 0 && { topK: number(form, 'topK') }),
    };
    this.busy = true;
    this.error = '';
    try {
      const answer = await this.api?.<{ text: string }>(`/api/jobs/${this.jobId}/generate`, { method: 'POST', body: JSON.stringify(request) });
      this.generated = { prompt: request.prompt, text: answer?.text ?? '' };
    } catch (x) {
      this.error = String(x instanceof Error ? x.message : x);
    } finally {
      this.busy = false;
    }
  }

  override render() {
    const latest = this.samples.filter((s) => s.round === this.samples[0]?.round);
    return html`<h3>Text</h3>
      ${
        latest.length
          ? html`<p class="hint">What the model wrote at its evaluation of round ${latest[0].round} (the prompt in blue, from the validation text):</p>
            <div id="text-samples">${latest.map((s) => html`<pre class="sample"><b>${s.prompt}</b>${s.text}</pre>`)}</div>`
          : html`<p class="hint">The model's samples appear here at its first evaluation.</p>`
      }
      <form id="generate" @submit=${(e: SubmitEvent) => this.generate(e)}>
        <label class="prompt">prompt <textarea id="prompt" name="prompt" rows="2" required></textarea></label>
        <label>tokens <input name="maxTokens" type="number" min="1" max="1024" value="100" /></label>
        <label>temperature <input name="temperature" type="number" min="0" max="5" step="0.1" value="0.8" /></label>
        <label>top k <input name="topK" type="number" min="0" value="20" /></label>
        <label>seed <input name="seed" type="number" min="0" value="1" /></label>
        <button id="generate-button" ?disabled=${this.busy}>${this.busy ? 'generating…' : 'generate'}</button>
      </form>
      ${this.error ? html`<p class="err" id="generate-error">${this.error}</p>` : ''}
      ${this.generated ? html`<pre id="generated"><b>${this.generated.prompt}</b>${this.generated.text}</pre>` : ''}`;
  }
}
customElements.define('grid-text-samples', GridTextSamples);
