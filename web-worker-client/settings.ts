import { css, html, LitElement } from 'lit';
import type { ComputeSettings } from './when';

/** The volunteer's settings: how much, when and over how many bytes to compute, and the name on the leaderboard. */
export class GridSettings extends LitElement {
  static override properties = { settings: { attribute: false } };
  static override styles = css`
    label { display: block; margin: 10px 0; }
    input[type='number'], input[type='text'] { font: inherit; width: 7em; }
    input[type='text'] { width: 14em; }
  `;
  settings?: ComputeSettings;

  /** Tell the page what changed; it saves and applies it. */
  private set(patch: Partial<ComputeSettings>) {
    this.dispatchEvent(new CustomEvent<Partial<ComputeSettings>>('change-settings', { detail: patch, bubbles: true, composed: true }));
  }

  override render() {
    const s = this.settings;
    if (!s) return html``;
    const hour = (e: Event) => Number((e.target as HTMLInputElement).value);
    const checked = (e: Event) => (e.target as HTMLInputElement).checked;
    return html`
      <label>Name on the leaderboard
        <input id="name" type="text" maxlength="100" .value=${s.name} @change=${(e: Event) => this.set({ name: (e.target as HTMLInputElement).value.trim() })} /></label>
      <label>Team
        <input id="team" type="text" maxlength="100" .value=${s.team ?? ''} @change=${(e: Event) => this.set({ team: (e.target as HTMLInputElement).value.trim() })} /></label>
      <label>Compute at most <output id="share">${Math.round(s.share * 100)}%</output> of the time
        <input id="throttle" type="range" min="0.1" max="1" step="0.1" .value=${String(s.share)}
          @input=${(e: Event) => this.set({ share: Number((e.target as HTMLInputElement).value) })} /></label>
      <label><input id="hidden" type="checkbox" .checked=${s.pauseHidden} @change=${(e: Event) => this.set({ pauseHidden: checked(e) })} />
        Pause while this tab is hidden</label>
      <label><input id="battery" type="checkbox" .checked=${s.pauseOnBattery} @change=${(e: Event) => this.set({ pauseOnBattery: checked(e) })} />
        Pause on battery</label>
      <label><input id="metered" type="checkbox" .checked=${s.pauseMetered} @change=${(e: Event) => this.set({ pauseMetered: checked(e) })} />
        Pause on a metered connection</label>
      <label><input id="schedule" type="checkbox" .checked=${Boolean(s.hours)}
          @change=${(e: Event) => this.set({ hours: checked(e) ? (s.hours ?? { from: 22, to: 7 }) : undefined })} />
        Only between
        <input id="from" type="number" min="0" max="23" aria-label="from hour" .value=${String(s.hours?.from ?? 22)} ?disabled=${!s.hours}
          @change=${(e: Event) => this.set({ hours: { from: hour(e), to: s.hours?.to ?? 7 } })} />:00 and
        <input id="to" type="number" min="0" max="23" aria-label="to hour" .value=${String(s.hours?.to ?? 7)} ?disabled=${!s.hours}
          @change=${(e: Event) => this.set({ hours: { from: s.hours?.from ?? 22, to: hour(e) } })} />:00</label>
      <label>Bandwidth cap, MB per hour (up and down; 0 for none)
        <input id="cap" type="number" min="0" step="1" .value=${String(s.capMb)}
          @change=${(e: Event) => this.set({ capMb: Math.max(0, Number((e.target as HTMLInputElement).value) || 0) })} /></label>
    `;
  }
}
customElements.define('grid-settings', GridSettings);
