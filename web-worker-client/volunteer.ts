import * as Comlink from 'comlink';
import { css, html, LitElement } from 'lit';
import { Workbox } from 'workbox-window';
import { refusalOf } from '../protocol/errors';
import { state as saved } from './idb';
import './settings';
import { enrolAnonymously } from '../worker/enrol';
import type { JobProgress } from '../worker/job-pace';
import { type Circumstances, type ComputeSettings, DEFAULT_SETTINGS, pauseReason, watchCircumstances } from './when';
import type { VolunteerApi, VolunteerStats } from './worker-entry';

/** Verified credit as the coordinator keeps it: points are GFLOPs of work that stood; points a day over the last week. */
interface Credit {
  shards: number;
  samples: number;
  points: number;
  pointsPerDay: number;
}

/** The volunteer page: consent first, then a Web Worker runs shards on WebGPU until paused or closed. */
export class GridVolunteer extends LitElement {
  static override properties = {
    stats: { state: true },
    consented: { state: true },
    error: { state: true },
    settings: { state: true },
    reason: { state: true },
    credit: { state: true },
    leaders: { state: true },
    teams: { state: true },
    invite: { state: true },
    enrolling: { state: true },
  };
  static override styles = css`
    .card { background: #171a21; border-radius: 12px; padding: 20px; margin: 16px 0; }
    button { font: inherit; padding: 10px 18px; border-radius: 8px; border: 0; background: #2563eb; color: white; cursor: pointer; margin-right: 8px; }
    button.secondary { background: #2a2f3a; }
    dt { color: #9aa4b2; } dd { margin: 0 0 8px; }
    .err { color: #ff8080; }
    table { border-collapse: collapse; } td, th { padding: 2px 12px 2px 0; text-align: left; }
  `;
  stats?: VolunteerStats;
  consented = false;
  error = '';
  settings: ComputeSettings = DEFAULT_SETTINGS;
  /** Why the settings pause computing now (tab hidden, battery, schedule…), or undefined. */
  reason?: string;
  credit?: Credit;
  leaders: (Credit & { name: string })[] = [];
  teams: (Credit & { name: string; members: number })[] = [];
  /** Enrolment is closed: the volunteer needs an invitation (a worker token an operator issued). */
  invite = false;
  /** What enrolment is doing while its proof of work runs. */
  enrolling = '';
  private circumstances?: () => Circumstances;
  /** The page paused the worker for `reason` (not the volunteer's button): it resumes when the reason goes. */
  private autoPaused = false;
  /** Bytes up and down at the last stats update, for the current rates. */
  private last?: { at: number; up: number; down: number; upRate: number; downRate: number };
  private readonly worker = Comlink.wrap<VolunteerApi>(new Worker(new URL('./worker-entry.ts', import.meta.url), { type: 'module' }));

  override async connectedCallback() {
    super.connectedCallback();
    this.consented = (await saved.get<boolean>('consent')) === true;
    this.settings = { ...DEFAULT_SETTINGS, ...(await saved.get<ComputeSettings>('settings')) };
    this.circumstances = await watchCircumstances(() => void this.applySettings());
    await this.worker.subscribe(Comlink.proxy((s: VolunteerStats) => this.onStats(s)));
    this.stats = await this.worker.probe();
    if (this.consented && (await saved.get<boolean>('contributing'))) await this.contribute();
    setInterval(() => void this.refreshCredit(), 10_000);
  }

  private async token(): Promise<string> {
    const known = await saved.get<string>('token');
    if (known) return known;
    const res = await this.enrol();
    if (!res.ok) {
      const refused = await refusalOf(res);
      this.invite = refused.code === 'ENROLMENT_CLOSED';
      throw new Error(this.invite ? 'This grid takes invited volunteers only: paste your invitation token below.' : `enrolment refused: ${refused.detail}`);
    }
    const { token } = await res.json();
    await saved.set('token', token);
    return token;
  }

  /** Anonymous enrolment: the coordinator's proof-of-work puzzle solved in the worker first, when it asks for one. */
  private async enrol(): Promise<Response> {
    try {
      return await enrolAnonymously('', (puzzle) => {
        const expected = 2 ** puzzle.bits;
        this.enrolling = 'Joining: proving this is one browser, not a thousand (a few seconds of work)…';
        const progress = (tried: number) =>
          (this.enrolling = `Joining: proof of work, about ${Math.min(99, Math.round((100 * tried) / expected))}% of the expected…`);
        return this.worker.solvePuzzle(puzzle, Comlink.proxy(progress));
      });
    } finally {
      this.enrolling = '';
    }
  }

  private async contribute() {
    try {
      this.error = '';
      await saved.set('consent', true);
      await saved.set('contributing', true);
      this.consented = true;
      const { capMb, name, team } = this.settings;
      await this.worker.start(location.origin, await this.token(), capMb > 0 ? capMb * 1e6 : undefined, name || undefined, team || undefined);
      await this.applySettings();
      await this.refreshCredit();
    } catch (e) {
      this.error = String((e as Error).message ?? e);
    }
  }

  /** An invitation token, checked against the coordinator before it is kept. */
  private async useInvitation(e: Event) {
    e.preventDefault();
    const token = ((e.target as HTMLFormElement).elements.namedItem('invitation') as HTMLInputElement).value.trim();
    const res = await fetch('/api/me/credit', { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) {
      this.error = 'That invitation token is not valid here.';
      return;
    }
    await saved.set('token', token);
    this.invite = false;
    await this.contribute();
  }

  private async pause() {
    const paused = this.stats?.state === 'paused';
    this.autoPaused = false; // the volunteer's own choice: the settings do not undo it
    await (paused ? this.worker.resume() : this.worker.pause());
  }

  private async stop() {
    await saved.set('contributing', false);
    await this.worker.stop();
  }

  private async changeSettings(patch: Partial<ComputeSettings>) {
    this.settings = { ...this.settings, ...patch };
    await saved.set('settings', this.settings);
    if ('capMb' in patch) await this.worker.setBandwidth(this.settings.capMb > 0 ? this.settings.capMb * 1e6 : undefined);
    await this.applySettings();
  }

  /** Pause for the first reason the settings give, resume when none is left; apply the share of time. */
  private async applySettings() {
    await this.worker.throttle(1 - this.settings.share);
    this.reason = this.circumstances ? pauseReason(this.settings, this.circumstances()) : undefined;
    const s = await this.worker.stats();
    if (this.reason && s.state === 'running') {
      this.autoPaused = true;
      await this.worker.pause();
    } else if (!this.reason && this.autoPaused && s.state === 'paused') {
      this.autoPaused = false;
      await this.worker.resume();
    }
  }

  /** Verified credit (results that stand on the coordinator's record), and the leaderboard. */
  /** A printable certificate of the verified credit, in a window of its own (the volunteer prints or saves it). */
  private printCertificate() {
    const c = this.credit;
    if (!c) return;
    const w = window.open('', '_blank');
    if (!w) return;
    w.document.title = 'Certificate of computation';
    w.document.body.innerHTML = certificateHtml(this.settings.name || 'A volunteer', location.host, c, new Date());
    w.print();
  }

  private async refreshCredit() {
    const token = await saved.get<string>('token');
    if (!token) return;
    const get = async <T>(path: string) => (await fetch(path, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<T>;
    // Both at once: a credit shown before the leaderboard that counts it would contradict it for a moment.
    const [credit, leaders, teams] = await Promise.all([
      get<Credit>('/api/me/credit').catch(() => this.credit),
      get<(Credit & { name: string })[]>('/api/leaderboard').catch(() => this.leaders),
      get<(Credit & { name: string; members: number })[]>('/api/teams').catch(() => this.teams),
    ]);
    this.credit = credit;
    this.leaders = leaders;
    this.teams = teams;
  }

  /** Keep the stats; every half second or more, the upload and download rates since the last sample. */
  private onStats(s: VolunteerStats) {
    const now = performance.now();
    const l = this.last;
    if (!l) this.last = { at: now, up: s.bytesSent, down: s.bytesFetched, upRate: 0, downRate: 0 };
    else if (now - l.at > 500) {
      const dt = (now - l.at) / 1000;
      this.last = { at: now, up: s.bytesSent, down: s.bytesFetched, upRate: (s.bytesSent - l.up) / dt, downRate: (s.bytesFetched - l.down) / dt };
    }
    this.stats = s;
  }

  override render() {
    const s = this.stats;
    const running = s && ['running', 'paused', 'stopping'].includes(s.state);
    const state = s?.state === 'paused' && this.reason ? `paused: ${this.reason}` : (s?.state ?? 'idle');
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
            ? html`<button id="pause" @click=${this.pause}>${s?.state === 'paused' ? 'Resume' : 'Pause'}</button>
              <button id="stop" class="secondary" @click=${this.stop}>Stop</button>`
            : html`<button id="contribute" @click=${this.contribute}>${this.consented ? 'Contribute' : 'I agree, contribute'}</button>`
        }
        ${this.enrolling ? html`<p id="enrolling" role="status">${this.enrolling}</p>` : ''}
        ${this.error ? html`<p class="err" id="error" role="alert">${this.error}</p>` : ''}
        ${s?.stoppedBecause ? html`<p class="err" id="stopped" role="alert">${s.stoppedBecause}</p>` : ''}
        ${
          this.invite
            ? html`<form @submit=${this.useInvitation}><label>Invitation token
                <input id="invitation" name="invitation" type="password" autocomplete="off" required /></label>
                <button id="join" type="submit">Join</button></form>`
            : ''
        }
      </div>
      <div class="card">
        <grid-settings .settings=${this.settings} @change-settings=${(e: CustomEvent<Partial<ComputeSettings>>) => this.changeSettings(e.detail)}></grid-settings>
      </div>
      <div class="card">
        <dl>
          <dt>GPU</dt><dd id="adapter">${s?.adapter || 'probing…'} (${s?.backend ?? ''})</dd>
          ${softwareOnly(s) ? html`<dt></dt><dd id="fallback" class="err">No hardware GPU: this browser offers only a software (CPU) fallback, so your processor does the work.</dd>` : ''}
          <dt>Working on</dt><dd id="about">${s?.about ? `${s.about.job}, for ${s.about.owner}${s.about.description ? `: ${s.about.description}` : ''}` : 'waiting for work'}</dd>
          ${s?.progress ? html`<dt>Job progress</dt><dd id="progress">${progressText(s.progress)}</dd>` : ''}
          <dt>Engine</dt><dd id="engine">${s?.engine ?? 'chosen when work arrives'}</dd>
          <dt>State</dt><dd id="state">${state}</dd>
          <dt>Contributed</dt><dd id="contributed">${s?.shardsDone ?? 0} shards, ${s?.samplesDone ?? 0} samples</dd>
          <dt>Verified credit</dt><dd><span id="credit">${this.credit ? creditText(this.credit) : '–'}</span>
            ${this.credit?.points ? html`<button id="certificate" class="secondary" @click=${() => this.printCertificate()}>Certificate</button>` : ''}</dd>
          <dt>Last loss</dt><dd>${s?.lastLoss?.toFixed(4) ?? '–'}</dd>
          ${s?.innerStep ? html`<dt>Local optimizer</dt><dd id="inner">inner AdamW step ${s.innerStep}</dd>` : ''}
          <dt>Downloaded</dt><dd id="downloaded">${((s?.bytesFetched ?? 0) / 1e6).toFixed(1)} MB (${kbps(this.last?.downRate)})</dd>
          <dt>Uploaded</dt><dd id="uploaded">${((s?.bytesSent ?? 0) / 1e6).toFixed(1)} MB (${kbps(this.last?.upRate)})</dd>
          <dt>Last event</dt><dd id="event" aria-live="polite">${s?.lastEvent ?? ''}</dd>
        </dl>
      </div>
      <div class="card">
        <h2>Leaderboard</h2>
        <table id="leaderboard">
          <tr><th>volunteer</th><th>points</th><th>points a day</th><th>verified shards</th></tr>
          ${this.leaders.map((l) => html`<tr><td>${l.name}</td><td>${l.points.toLocaleString()}</td><td>${l.pointsPerDay.toLocaleString()}</td><td>${l.shards}</td></tr>`)}
        </table>
        <h2>Teams</h2>
        <table id="teams">
          <tr><th>team</th><th>members</th><th>points</th><th>points a day</th></tr>
          ${this.teams.map((t) => html`<tr><td>${t.name}</td><td>${t.members}</td><td>${t.points.toLocaleString()}</td><td>${t.pointsPerDay.toLocaleString()}</td></tr>`)}
        </table>
      </div>
    `;
  }
}
customElements.define('grid-volunteer', GridVolunteer);

const creditText = (c: Credit) =>
  `${c.points.toLocaleString()} points (${c.pointsPerDay.toLocaleString()} a day this week), ${c.shards} shards, ${c.samples} samples`;

/** The certificate's page: who, how much verified work, on which grid, when; plain HTML that prints on one page. */
function certificateHtml(name: string, grid: string, c: Credit, at: Date) {
  const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  return `<main id="certificate" style="font-family: serif; text-align: center; padding: 10vh 10vw; border: 6px double #333">
    <h1>Certificate of computation</h1>
    <p>This certifies that</p><h2>${escapeHtml(name)}</h2>
    <p>lent their computer to machine learning on the volunteer grid at ${escapeHtml(grid)}, and that the grid verified</p>
    <h2>${c.points.toLocaleString()} points</h2>
    <p>(${c.points.toLocaleString()} GFLOP of training and inference that stood, in ${c.shards.toLocaleString()} shards of ${c.samples.toLocaleString()} samples)</p>
    <p>${at.toDateString()}</p></main>`;
}

/** "42% (about 5 min to go)": the job's share done, and its end at the pace this volunteer has seen. */
function progressText(p: JobProgress) {
  const percent = `${Math.floor((100 * p.done) / p.total)}%`;
  if (p.etaS === undefined) return percent;
  const eta = p.etaS < 90 ? `${Math.round(p.etaS)} s` : p.etaS < 5400 ? `${Math.round(p.etaS / 60)} min` : `${(p.etaS / 3600).toFixed(1)} h`;
  return `${percent} (about ${eta} to go)`;
}

const kbps = (bytesPerSec = 0) => `${(bytesPerSec / 1000).toFixed(1)} kB/s`;

/** The browser's GPU is a software fallback (SwiftShader and the like), or there is none: say so plainly. */
const softwareOnly = (s: VolunteerStats | undefined) =>
  Boolean(s?.adapter) && (s?.backend === 'cpu' || /fallback|swiftshader|llvmpipe/i.test(s?.adapter ?? ''));

if ('serviceWorker' in navigator && !import.meta.env.DEV) void new Workbox('/sw.js').register();
