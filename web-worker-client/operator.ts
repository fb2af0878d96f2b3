import { css, html, LitElement } from 'lit';
import type { Api } from './job-page';

interface Worker {
  id: string;
  name: string;
  kind: string;
  state: string;
  reputation: number;
  shardsDone: number;
  lastSeen: number;
  capabilities: { backend?: string; engines?: { engine: string; adapter: string; samplesPerSec: number }[] };
}
interface Token {
  id: number;
  name: string;
  scopes: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}
interface AuditEvent {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string;
}
interface Health {
  workers: number;
  uptimeS: number;
  samplesPerSec: number;
}

const when = (t: number | null) => (t ? new Date(t).toLocaleString() : '–');

/** The operator's views, each at its own address: status and workers with their standing, tokens (issue, revoke), the audit log. */
export class GridOperator extends LitElement {
  static override properties = {
    view: {},
    workers: { state: true },
    tokens: { state: true },
    audit: { state: true },
    health: { state: true },
    issued: { state: true },
    enrolment: { state: true },
    jobs: { state: true },
  };
  static override styles = css`
    table { border-collapse: collapse; width: 100%; } td, th { padding: 4px 8px; text-align: left; border-bottom: 1px solid #2a2f3a; }
    tr.quarantined td { color: #f87171; } tr.revoked td { color: #9aa4b2; text-decoration: line-through; }
    button { font: inherit; padding: 4px 10px; border-radius: 6px; border: 0; background: #2563eb; color: #fff; cursor: pointer; }
    input, select { font: inherit; color: #e6e6e6; background: #0f1115; border: 1px solid #2a2f3a; border-radius: 6px; padding: 4px; }
    .wide { overflow-x: auto; } code { word-break: break-all; }
  `;
  view: 'workers' | 'tokens' | 'audit' = 'workers';
  api?: Api;
  workers: Worker[] = [];
  tokens?: Token[];
  audit?: AuditEvent[];
  health?: Health;
  /** A token just issued: shown once, here. */
  issued?: string;
  enrolment?: boolean;

  /** Jobs by state, for the status line. */
  jobs: Record<string, number> = {};

  /** Refresh everything; the jobs come from the console, which has just fetched them (kept when not given). */
  async refresh(jobs?: { state: string }[]) {
    if (!this.api) return;
    if (jobs) {
      const counts: Record<string, number> = {};
      for (const j of jobs) counts[j.state] = (counts[j.state] ?? 0) + 1;
      this.jobs = counts;
    }
    // Only what the view on screen shows is asked for.
    if (this.view === 'workers') {
      this.workers = await this.api<Worker[]>('/api/workers').catch(() => this.workers);
      this.health = await fetch('/health').then(
        (r) => r.json() as Promise<Health>,
        () => this.health,
      );
    }
    // Only an operator token may read these: a researcher's gets FORBIDDEN, and the view says so.
    if (this.view === 'tokens') {
      this.enrolment = (await this.api<{ open: boolean }>('/api/enrolment').catch(() => undefined))?.open;
      this.tokens = await this.api<Token[]>('/api/tokens').catch(() => undefined);
    }
    if (this.view === 'audit') this.audit = await this.api<AuditEvent[]>('/api/audit').catch(() => undefined);
  }

  private async issue(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value;
    const days = Number(value('days'));
    const body = { name: value('name') || 'token', scopes: [value('scope')], ...(days > 0 ? { expiresInS: days * 86_400 } : {}) };
    const t = await this.api?.<{ token: string }>('/api/tokens', { method: 'POST', body: JSON.stringify(body) });
    this.issued = t?.token;
    await this.refresh();
  }

  private async setEnrolment(open: boolean) {
    this.enrolment = (await this.api?.<{ open: boolean }>('/api/enrolment', { method: 'PUT', body: JSON.stringify({ open }) }))?.open;
  }

  private async revoke(id: number) {
    if (!confirm(`Revoke token ${id}? Its workers are disconnected at once.`)) return;
    await this.api?.(`/api/tokens/${id}`, { method: 'DELETE' });
    await this.refresh();
  }

  override render() {
    if (this.view === 'tokens') return this.renderTokens();
    if (this.view === 'audit') return this.renderAudit();
    const online = this.workers.filter((w) => w.state === 'online').length;
    return html`
      <h2>Status</h2>
      <p id="status">${this.health ? `${this.health.workers} workers connected (${online} online on record), up ${Math.round(this.health.uptimeS / 60)} min; jobs: ${this.jobs.running ?? 0} running, ${this.jobs.queued ?? 0} queued, ${this.jobs.paused ?? 0} paused; ${this.health.samplesPerSec.toLocaleString()} samples/s over the last minute` : '…'}</p>
      <h2>Workers</h2>
      <div class="wide"><table id="workers">
        <tr><th>worker</th><th>kind</th><th>engine</th><th>state</th><th>reputation</th><th>shards</th><th>rate</th><th>last seen</th></tr>
        ${this.workers.map(
          (w) => html`<tr class=${w.state}>
            <td title=${w.id}>${w.name}</td><td>${w.kind}</td>
            <td title=${(w.capabilities.engines ?? []).map((e) => `${e.engine} on ${e.adapter}: ${e.samplesPerSec} samples/s`).join('\n')}>${w.capabilities.engines?.[0]?.engine ?? w.capabilities.backend ?? ''}</td>
            <td class="state">${w.state}</td><td class="reputation">${w.reputation.toFixed(3)}</td>
            <td>${w.shardsDone}</td><td>${w.capabilities.engines?.[0] ? `${w.capabilities.engines[0].samplesPerSec.toLocaleString()}/s` : ''}</td><td>${when(w.lastSeen)}</td></tr>`,
        )}
      </table></div>`;
  }

  private renderTokens() {
    if (!this.tokens) return html`<h2>Tokens</h2><p id="operator-only">Tokens are the operator's: sign in with an operator token to issue and revoke them.</p>`;
    return html`<h2>Tokens</h2>
      <label><input id="enrolment" type="checkbox" .checked=${this.enrolment === true}
        @change=${(e: Event) => this.setEnrolment((e.target as HTMLInputElement).checked)} /> Anonymous volunteers may enrol
        (otherwise they need an invitation: a worker token issued here)</label>
      <form id="issue" @submit=${this.issue}>
        <label>Name <input name="name" required /></label>
        <label>Scope <select name="scope"><option>worker</option><option>researcher</option><option>operator</option></select></label>
        <label>Expires in days (0: never) <input name="days" type="number" min="0" value="30" /></label>
        <button type="submit">Issue</button>
      </form>
      ${this.issued ? html`<p>New token, shown once: <code id="issued">${this.issued}</code></p>` : ''}
      <div class="wide"><table id="tokens">
        <tr><th>id</th><th>name</th><th>scopes</th><th>created</th><th>expires</th><th>last used</th><th></th></tr>
        ${this.tokens.map(
          (t) => html`<tr class=${t.revokedAt ? 'revoked' : ''}><td>${t.id}</td><td>${t.name}</td><td>${t.scopes}</td><td>${when(t.createdAt)}</td>
            <td>${when(t.expiresAt)}</td><td>${when(t.lastUsedAt)}</td>
            <td>${t.revokedAt ? 'revoked' : html`<button @click=${() => this.revoke(t.id)}>revoke</button>`}</td></tr>`,
        )}
      </table></div>`;
  }

  private renderAudit() {
    if (!this.audit) return html`<h2>Audit log</h2><p id="operator-only">The audit log is the operator's: sign in with an operator token to read it.</p>`;
    return html`<h2>Audit log</h2><div class="wide"><table id="audit">
        <tr><th>when</th><th>who</th><th>what</th><th>on</th></tr>
        ${this.audit.slice(0, 50).map((e) => html`<tr><td>${when(e.at)}</td><td>${e.actor}</td><td>${e.action}</td><td>${e.target}</td></tr>`)}
      </table></div>`;
  }
}
customElements.define('grid-operator', GridOperator);
