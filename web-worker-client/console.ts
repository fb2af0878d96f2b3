import { css, html, LitElement, nothing } from 'lit';
import { Refused, refusalOf } from '../protocol/errors';
import { everyMetric } from '../protocol/metric-pages';
import type { GridCatalogue } from './catalogue';
import './catalogue';
import type { ComparedRun, GridCompare } from './compare-page';
import { comparedIn, comparePath, jobInPath, jobPath, VIEW_TITLES, VIEWS, type View, viewInPath, viewPath } from './console-paths';
import './compare-page';
import { latestCheckpoint, saveWithToken } from './downloads';
import type { GridJobForm } from './job-form';
import './job-form';
import type { GridJobPage, JobView, Metric } from './job-page';
import './job-page';
import type { GridOperator } from './operator';
import './operator';
import { corpusQuery, type UploadRequest } from './upload-form';

/**
 * The researcher console: sign in with a token (kept for this tab only), submit jobs through a checked form, follow
 * them in a list and on a job page, and, with an operator token, see workers, tokens and the audit log.
 */
export class GridConsole extends LitElement {
  static override properties = {
    view: { state: true },
    token: { state: true },
    selected: { state: true },
    comparing: { state: true },
    picked: { state: true },
    message: { state: true },
    jobs: { state: true },
    metrics: { state: true },
  };
  static override styles = css`
    section { background: #171a21; border-radius: 12px; padding: 16px; margin: 12px 0; }
    input { font: inherit; max-width: 420px; width: 100%; }
    button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 0; background: #2563eb; color: #fff; cursor: pointer; margin-right: 6px; }
    table { border-collapse: collapse; width: 100%; } td, th { padding: 4px 8px; text-align: left; border-bottom: 1px solid #2a2f3a; }
    tr.sel { background: #223; } a { color: #7cb2ff; }
    .wide { overflow-x: auto; } #message { overflow-wrap: anywhere; }
    nav { display: flex; flex-wrap: wrap; gap: 4px 14px; } nav a[aria-current] { color: #fff; font-weight: 600; text-decoration: none; }
  `;
  /** The view on screen, from the address: runs (with a run's page or a comparison), data sets, models, workers, tokens, audit. */
  view: View = 'runs';
  /** Kept for this tab's session only: a researcher token must not outlive the tab on a shared machine. */
  token = sessionStorage.getItem('grid-token') ?? '';
  selected?: number;
  /** The runs on the comparison view, when it is open; `picked` are those ticked in the list for it. */
  comparing?: number[];
  picked = new Set<number>();
  message = '';
  jobs: JobView[] = [];
  metrics: Metric[] = [];
  private poll?: ReturnType<typeof setInterval>;
  /** A token the coordinator refused: nothing is polled with it (21 refusals in 5 s rate-limited the address). */
  private refusedToken?: string;

  private readonly api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const res = await fetch(path, { ...init, headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', ...init.headers } });
    if (!res.ok) throw await refusalOf(res);
    return (await res.json()) as T;
  };

  override connectedCallback() {
    super.connectedCallback();
    this.view = viewInPath(location.pathname);
    this.selected = jobInPath(location.pathname); // a run's address survives a reload and can be shared
    this.comparing = comparedIn(location);
    addEventListener('popstate', this.followAddress);
    this.poll = setInterval(() => void this.refresh(), 2000);
    // After the first render: the view's own element (operator, catalogue, form) is there to be filled at once.
    void this.updateComplete.then(() => Promise.all([this.refresh(), this.refreshForm()]));
  }
  override disconnectedCallback() {
    super.disconnectedCallback();
    removeEventListener('popstate', this.followAddress);
    clearInterval(this.poll);
  }

  /** Back and forward move between runs as the address says. */
  private readonly followAddress = () => {
    this.view = viewInPath(location.pathname);
    void this.updateComplete.then(() => this.refresh());
    const id = jobInPath(location.pathname);
    this.comparing = comparedIn(location);
    if (id === undefined) this.selected = undefined;
    else this.select(id, false);
  };

  private child<T>(selector: string) {
    return this.renderRoot.querySelector(selector) as T | null;
  }

  private async refresh() {
    if (!this.token || this.token === this.refusedToken) return;
    this.jobs = await this.api<JobView[]>('/api/jobs').catch((e) => {
      if (e instanceof Refused && (e.code === 'UNAUTHORIZED' || e.code === 'RATE_LIMITED')) {
        this.refusedToken = this.token;
        this.message = `${e.message}: enter a valid token`;
        return [];
      }
      this.message = String(e.message);
      return this.jobs;
    });
    if (this.token === this.refusedToken) return;
    const operator = this.child<GridOperator>('grid-operator');
    if (operator) {
      operator.api = this.api;
      void operator.refresh(this.jobs);
    }
    const catalogue = this.child<GridCatalogue>('grid-catalogue');
    if (catalogue) {
      catalogue.api = this.api;
      void catalogue.refresh();
    }
    if (this.comparing) void this.refreshComparison(this.comparing);
    if (this.selected === undefined) return;
    const id = this.selected;
    const since = this.metrics.at(-1)?.id ?? 0;
    const points = (from: number) => this.api<Metric[]>(`/api/jobs/${id}/metrics?since=${from}`);
    const [job, fresh] = await Promise.all([this.api<JobView>(`/api/jobs/${id}`), everyMetric(points, since)]).catch(() => [undefined, []] as const);
    if (id !== this.selected) return; // the answer is for a job no longer on screen
    if (fresh.length) this.metrics = [...this.metrics, ...fresh];
    const page = this.child<GridJobPage>('grid-job-page');
    if (page && job) {
      page.job = job;
      page.api = this.api;
      void page.refreshDetail();
    }
  }

  /** Every point of each compared run (a comparison is of a few runs, reloaded whole at each poll). */
  private async refreshComparison(ids: number[]) {
    const runs = await Promise.all(
      ids.map(
        async (id): Promise<ComparedRun> => ({
          job: await this.api<JobView>(`/api/jobs/${id}`),
          metrics: await everyMetric((since) => this.api<Metric[]>(`/api/jobs/${id}/metrics?since=${since}`)),
        }),
      ),
    ).catch((e) => {
      this.message = String((e as Error).message);
      return undefined;
    });
    const view = this.child<GridCompare>('grid-compare');
    if (runs && view && ids === this.comparing) view.runs = runs;
  }

  private compare(ids: number[]) {
    history.pushState(null, '', comparePath(ids));
    this.view = 'runs';
    this.comparing = ids;
    this.selected = undefined;
    void this.updateComplete.then(() => this.refresh());
  }

  /** The form's choices: data sets and registered models. */
  private async refreshForm() {
    const form = this.child<GridJobForm>('grid-job-form');
    if (!form || this.token === this.refusedToken) return;
    // Both asked at once: asked in turn, the second went out after the first's refusal, polling a refused token.
    const [datasets, models] = await Promise.all([
      this.api<{ name: string; split: string }[]>('/api/datasets').catch(() => []),
      this.api<{ sha256: string; name: string }[]>('/api/models').catch(() => []),
    ]);
    form.datasets = [...new Set(['fashion-mnist/train', 'fashion-mnist/test', ...datasets.map((d) => `${d.name}/${d.split}`)])];
    form.models = models;
  }

  private async submit(spec: unknown) {
    try {
      const { id } = await this.api<{ id: number }>('/api/jobs', { method: 'POST', body: JSON.stringify(spec) });
      this.message = `job ${id} submitted`;
      this.select(id);
    } catch (e) {
      this.child<GridJobForm>('grid-job-form')?.showError(String((e as Error).message).replace(/^\w+: /, ''));
    }
  }

  /**
   * Upload a data set (CSV; .npy for inference inputs; a text corpus, which makes NAME/train and NAME/validation) or a
   * model, with the token in a header; the form then offers it.
   */
  private async uploadDataset({ file, name, split, text }: UploadRequest) {
    if (file.name.endsWith('.onnx')) return this.uploadModel(file, name);
    const to = text ? 'train' : split; // a corpus is posted to NAME/train and makes NAME/validation beside it
    const at = `/api/datasets/${encodeURIComponent(name)}/${encodeURIComponent(to)}`;
    const path = text ? `${at}?${corpusQuery(text)}` : `${at}${file.name.endsWith('.npy') ? '?format=npy' : ''}`;
    try {
      const m = await this.api<{ samples: number }>(path, { method: 'POST', body: file, headers: { 'content-type': 'application/octet-stream' } });
      const form = this.child<GridJobForm>('grid-job-form');
      this.message = `data set ${name}/${to}: ${m.samples} samples${text ? ` (and ${name}/validation)` : ''}`;
      await this.refreshForm();
      form?.choose('dataset', `${name}/${to}`);
      if (text) form?.choose('evalSplit', 'validation');
    } catch (e) {
      this.message = String((e as Error).message);
    }
  }

  /** Register an ONNX model (checked by the coordinator) and pick it for an inference job. */
  private async uploadModel(file: File, name: string) {
    try {
      const m = await this.api<{ sha256: string }>(`/api/models?name=${encodeURIComponent(name)}`, { method: 'POST', body: file });
      this.message = `model ${name} registered: ${m.sha256}`;
      await this.refreshForm();
      const form = this.child<GridJobForm>('grid-job-form');
      form?.choose('kind', 'inference');
      form?.choose('model', m.sha256);
    } catch (e) {
      this.message = String((e as Error).message);
    }
  }

  private async control(id: number, action: string) {
    await this.api(`/api/jobs/${id}/${action}`, { method: 'POST' }).then(
      () => (this.message = `job ${id}: ${action}`),
      (e) => (this.message = String(e.message)),
    );
    void this.refresh();
  }

  /** The latest checkpoint (safetensors) or model (ONNX) of a job. */
  private async downloadLatest(id: number, what: 'checkpoint' | 'onnx') {
    try {
      const { path, filename } = await latestCheckpoint(this.api, id, what);
      await this.save(path, filename);
    } catch (e) {
      this.message = String((e as Error).message);
    }
  }

  private save = (path: string, filename: string) => saveWithToken(this.token, path, filename);

  private pick(id: number, on: boolean) {
    const picked = new Set(this.picked);
    if (on) picked.add(id);
    else picked.delete(id);
    this.picked = picked;
  }

  /** Show another view at its own address. */
  private show(view: View, e?: MouseEvent) {
    if (e && (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0)) return; // a new tab or window opens the address
    e?.preventDefault();
    history.pushState(null, '', viewPath(view));
    this.view = view;
    this.selected = undefined;
    this.comparing = undefined;
    void this.updateComplete.then(() => this.refresh());
  }

  private select(id: number, remember = true) {
    if (remember && jobInPath(location.pathname) !== id) history.pushState(null, '', jobPath(id));
    this.view = 'runs';
    this.comparing = undefined;
    this.selected = id;
    this.metrics = [];
    void this.updateComplete.then(() => this.refresh());
  }

  override render() {
    return html`
      <h1>Researcher console</h1>
      <section>
        <label>API token <input id="token" type="password" autocomplete="off" .value=${this.token}
          @change=${(e: Event) => {
            this.token = (e.target as HTMLInputElement).value.trim();
            sessionStorage.setItem('grid-token', this.token);
            this.message = ''; // the last token's refusal is not this one's
            this.refusedToken = undefined;
            void this.refresh();
            void this.refreshForm(); // the form's choices change only with the token and with uploads
          }} /></label>
        <p id="message" role="status">${this.message}</p>
      </section>
      <nav aria-label="console views">${VIEWS.map(
        (v) =>
          html`<a href=${viewPath(v)} id=${`nav-${v}`} aria-current=${this.view === v ? 'page' : nothing} @click=${(e: MouseEvent) => this.show(v, e)}>${VIEW_TITLES[v]}</a>`,
      )}</nav>
      ${this.view === 'runs' ? this.renderRuns() : this.renderView(this.view)}`;
  }

  /** Data sets and models are catalogues; workers, tokens and the audit log are the operator's. */
  private renderView(view: Exclude<View, 'runs'>) {
    if (view === 'datasets' || view === 'models') return html`<section><grid-catalogue .kind=${view}></grid-catalogue></section>`;
    return html`<section><grid-operator .view=${view}></grid-operator></section>`;
  }

  /** The runs: the list, a run's page or a comparison, and the form that submits new ones. */
  private renderRuns() {
    return html`
      <section>
        <h2>Jobs</h2>
        <button id="compare-runs" ?disabled=${this.picked.size < 2} @click=${() => this.compare([...this.picked].sort((a, b) => a - b))}>
          compare ${this.picked.size >= 2 ? this.picked.size : ''} runs</button>
        <div class="wide"><table id="jobs">
          <tr><th>compare</th><th>id</th><th>name</th><th>state</th><th>progress</th><th></th></tr>
          ${this.jobs.map(
            (j) => html`<tr class=${j.id === this.selected ? 'sel' : ''}>
              <td><input type="checkbox" class="pick" aria-label=${`compare job ${j.id}`} .checked=${this.picked.has(j.id)}
                @change=${(e: Event) => this.pick(j.id, (e.target as HTMLInputElement).checked)} /></td>
              <td><a href=${jobPath(j.id)} @click=${(e: MouseEvent) => {
                if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return; // a new tab or window opens the address
                e.preventDefault();
                this.select(j.id);
              }}>${j.id}</a></td>
              <td>${j.name}</td><td class="state">${j.state}</td><td>${j.round} / ${j.totalRounds}</td>
              <td>${
                j.spec.mode === 'inference'
                  ? html`<button class="npy" @click=${() => this.save(`/api/jobs/${j.id}/output.npy`, `job-${j.id}-output.npy`)}>output.npy</button>`
                  : html`<button class="onnx" @click=${() => this.downloadLatest(j.id, 'onnx')}>model.onnx</button>`
              }</td></tr>`,
          )}
        </table></div>
      </section>
      ${this.comparing ? html`<section id="compare"><grid-compare></grid-compare></section>` : ''}
      ${
        this.selected !== undefined
          ? html`<section id="job">
              <grid-job-page .metrics=${this.metrics}
                @control-job=${(e: CustomEvent<{ id: number; action: string }>) => this.control(e.detail.id, e.detail.action)}
                @download=${(e: CustomEvent<{ path: string; name: string }>) => this.save(e.detail.path, e.detail.name).catch((x) => (this.message = String(x)))}
                @download-latest=${(e: CustomEvent<{ id: number; what: 'onnx' | 'checkpoint' }>) => this.downloadLatest(e.detail.id, e.detail.what)}></grid-job-page>
            </section>`
          : ''
      }
      <section>
        <h2>Submit a job</h2>
        <grid-job-form @submit-job=${(e: CustomEvent<unknown>) => this.submit(e.detail)}
          @upload-dataset=${(e: CustomEvent<UploadRequest>) => this.uploadDataset(e.detail)}></grid-job-form>
      </section>`;
  }
}
customElements.define('grid-console', GridConsole);
