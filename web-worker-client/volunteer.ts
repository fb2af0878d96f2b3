import * as Comlink from 'comlink';
import { css, html, LitElement } from 'lit';
import { Workbox } from 'workbox-window';
import { state as saved } from './idb';
import type { VolunteerApi, VolunteerStats } from './worker-entry';

/** The volunteer page: consent first, then a Web Worker runs shards on WebGPU until paused or closed. */
export class GridVolunteer extends LitElement {
  static override properties = {
    stats: { state: true },
    consented: { state: true },
    error: { state: true },
    throttle: { state: true },
    capMb: { state: true },
    pauseMetered: { state: true },
  };
  static override styles = css`
    .card { background: #171a21; border-radius: 12px; padding: 20px; margin: 16px 0; }
    button { font: inherit; padding: 10px 18px; border-radius: 8px; border: 0; background: #3b82f6; color: white; cursor: pointer; margin-right: 8px; }
    button.secondary { background: #2a2f3a; }
    dt { color: #9aa4b2; } dd { margin: 0 0 8px; }
    .err { color: #ff8080; }
  `;
  stats?: VolunteerStats;
  consented = false;
  error = '';
  throttle = 0;
  /** Bandwidth cap in MB (10^6 bytes) per hour; 0 is none. Kept in IndexedDB with the other settings. */
  capMb = 0;
  pauseMetered = false;
  /** Bytes up and down at the last stats update, for the current rates. */
  private last?: { at: number; up: number; down: number; upRate: number; downRate: number };
  private readonly worker = Comlink.wrap<VolunteerApi>(new Worker(new URL('./worker-entry.ts', import.meta.url), { type: 'module' }));

  override async connectedCallback() {
    super.connectedCallback();
    this.consented = (await saved.get<boolean>('consent')) === true;
    this.capMb = (await saved.get<number>('capMb')) ?? 0;
    this.pauseMetered = (await saved.get<boolean>('pauseMetered')) ?? false;
    connection()?.addEventListener?.('change', () => void this.applyMetered());
    await this.worker.subscribe(Comlink.proxy((s: VolunteerStats) => this.onStats(s)));
    this.stats = await this.worker.probe();
    if (this.consented && (await saved.get<boolean>('contributing'))) await this.contribute();
  }

  private async token(): Promise<string> {
    const known = await saved.get<string>('token');
    if (known) return known;
    const res = await fetch('/api/enrol', { method: 'POST' });
    if (!res.ok) throw new Error(`enrolment refused (${res.status}): ${(await res.json()).error?.message}`);
    const { token } = await res.json();
    await saved.set('token', token);
    return token;
  }

  private async contribute() {
    try {
      this.error = '';
      await saved.set('consent', true);
      await saved.set('contributing', true);
      this.consented = true;
      await this.worker.start(location.origin, await this.token(), this.capMb > 0 ? this.capMb * 1e6 : undefined);
      await this.applyMetered();
    } catch (e) {
      this.error = String((e as Error).message ?? e);
    }
  }

  private async pause() {
    const paused = this.stats?.state === 'paused';
    await (paused ? this.worker.resume() : this.worker.pause());
  }

  private onStats(s: VolunteerStats) {
    const now = performance.now();
    const l = this.last;
    const dt = l ? (now - l.at) / 1000 : 0;
    const rate = (now: number, then: number, old: number) => (dt > 0.5 ? (now - then) / dt : old);
    this.last = {
      at: dt > 0.5 || !l ? now : l.at,
      up: dt > 0.5 || !l ? s.bytesSent : l.up,
      down: dt > 0.5 || !l ? s.bytesFetched : l.down,
      upRate: l ? rate(s.bytesSent, l.up, l.upRate) : 0,
      downRate: l ? rate(s.bytesFetched, l.down, l.downRate) : 0,
    };
    this.stats = s;
  }

  private async setCap(mb: number) {
    this.capMb = Number.isFinite(mb) && mb > 0 ? mb : 0;
    await saved.set('capMb', this.capMb);
    await this.worker.setBandwidth(this.capMb > 0 ? this.capMb * 1e6 : undefined);
  }

  /** On a metered connection (cellular, or Save-Data on), pause when the volunteer asked; resume when it ends. */
  private async applyMetered() {
    const s = await this.worker.stats();
    if (!['running', 'paused'].includes(s.state)) return;
    const metered = isMetered();
    if (this.pauseMetered && metered && s.state === 'running') await this.worker.pause();
    if ((!this.pauseMetered || !metered) && s.state === 'paused' && this.meteredPause) await this.worker.resume();
    this.meteredPause = this.pauseMetered && metered;
  }
  private meteredPause = false;

  private async stop() {
    await saved.set('contributing', false);
    await this.worker.stop();
  }

  override render() {
    const s = this.stats;
    const running = s && ['running', 'paused', 'stopping'].includes(s.state);
    return html`
      <h1>Lend your GPU to science</h1>
      <div class="card">
        <p>
          This page trains machine-learning models on your graphics card through WebGPU, in a background worker. It
          downloads training data and model parameters from this server, computes gradients, and sends them back. Nothing
          else on your machine is read. You can pause or stop at any time; progress is kept in this browser.
        </p>
        ${
          running
            ? html`<button id="pause" @click=${this.pause}>${s!.state === 'paused' ? 'Resume' : 'Pause'}</button>
              <button id="stop" class="secondary" @click=${this.stop}>Stop</button>
              <label>Throttle <input id="throttle" type="range" min="0" max="0.9" step="0.1" .value=${String(this.throttle)}
                @input=${(e: Event) => {
                  this.throttle = Number((e.target as HTMLInputElement).value);
                  this.worker.throttle(this.throttle);
                }} /></label>`
            : html`<button id="contribute" @click=${this.contribute}>${this.consented ? 'Contribute' : 'I agree, contribute'}</button>`
        }
        ${this.error ? html`<p class="err" id="error">${this.error}</p>` : ''}
      </div>
      <div class="card">
        <label>Bandwidth cap, MB per hour (up and down; 0 for none)
          <input id="cap" type="number" min="0" step="1" .value=${String(this.capMb)}
            @change=${(e: Event) => this.setCap(Number((e.target as HTMLInputElement).value))} /></label>
        <label><input id="metered" type="checkbox" .checked=${this.pauseMetered}
          @change=${async (e: Event) => {
            this.pauseMetered = (e.target as HTMLInputElement).checked;
            await saved.set('pauseMetered', this.pauseMetered);
            await this.applyMetered();
          }} /> Pause on a metered connection</label>
      </div>
      <div class="card">
        <dl>
          <dt>GPU</dt><dd id="adapter">${s?.adapter || 'probing…'} (${s?.backend ?? ''})</dd>
          ${softwareOnly(s) ? html`<dt></dt><dd id="fallback" class="err">No hardware GPU: this browser offers only a software (CPU) fallback, so your processor does the work.</dd>` : ''}
          <dt>Engine</dt><dd id="engine">${s?.engine ?? 'chosen when work arrives'}</dd>
          <dt>State</dt><dd id="state">${s?.state ?? 'idle'}</dd>
          <dt>Contributed</dt><dd id="contributed">${s?.shardsDone ?? 0} shards, ${s?.samplesDone ?? 0} samples</dd>
          <dt>Last loss</dt><dd>${s?.lastLoss?.toFixed(4) ?? '–'}</dd>
          ${s?.innerStep ? html`<dt>Local optimizer</dt><dd id="inner">inner AdamW step ${s.innerStep}</dd>` : ''}
          <dt>Downloaded</dt><dd id="downloaded">${((s?.bytesFetched ?? 0) / 1e6).toFixed(1)} MB (${kbps(this.last?.downRate)})</dd>
          <dt>Uploaded</dt><dd id="uploaded">${((s?.bytesSent ?? 0) / 1e6).toFixed(1)} MB (${kbps(this.last?.upRate)})</dd>
          <dt>Last event</dt><dd>${s?.lastEvent ?? ''}</dd>
        </dl>
      </div>
    `;
  }
}
customElements.define('grid-volunteer', GridVolunteer);

const kbps = (bytesPerSec = 0) => `${(bytesPerSec / 1000).toFixed(1)} kB/s`;

/** The Network Information API, where the browser has it. */
const connection = () =>
  (navigator as { connection?: { type?: string; saveData?: boolean; addEventListener?: (t: string, f: () => void) => void } }).connection;
const isMetered = () => connection()?.type === 'cellular' || connection()?.saveData === true;

/** The browser's GPU is a software fallback (SwiftShader and the like), or there is none: say so plainly. */
const softwareOnly = (s: VolunteerStats | undefined) =>
  Boolean(s?.adapter) && (s?.backend === 'cpu' || /fallback|swiftshader|llvmpipe/i.test(s?.adapter ?? ''));

if ('serviceWorker' in navigator && !import.meta.env.DEV) void new Workbox('/sw.js').register();
