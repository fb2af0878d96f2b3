import { css, html, LitElement, svg } from 'lit';

export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
}

/** A dependency-free SVG line chart for live loss and accuracy curves. */
export class GridChart extends LitElement {
  static override properties = { series: { attribute: false }, label: {} };
  static override styles = css`
    svg { width: 100%; height: 220px; background: #171a21; border-radius: 8px; }
    .legend span { margin-right: 12px; }
  `;
  series: Series[] = [];
  label = '';

  override render() {
    const all = this.series.flatMap((s) => s.points);
    if (!all.length) return html`<p>${this.label}: no data yet</p>`;
    // A loop, not Math.min(...xs): spreading a long series overflows the call stack.
    let [x0, x1, y0, y1] = [Number.POSITIVE_INFINITY, 1, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    for (const p of all) [x0, x1, y0, y1] = [Math.min(x0, p.x), Math.max(x1, p.x), Math.min(y0, p.y), Math.max(y1, p.y)];
    const W = 600;
    const H = 200;
    const sx = (x: number) => 40 + ((x - x0) / (x1 - x0 || 1)) * (W - 50);
    const sy = (y: number) => H - 20 - ((y - y0) / (y1 - y0 || 1)) * (H - 40);
    return html`
      <div class="legend">${this.label}: ${this.series.map((s) => html`<span style="color:${s.color}">● ${s.name} ${s.points.at(-1)?.y.toFixed(4) ?? ''}</span>`)}</div>
      <svg viewBox="0 0 ${W} ${H}">
        <text x="4" y="16" fill="#9aa4b2" font-size="11">${y1.toFixed(3)}</text>
        <text x="4" y="${H - 20}" fill="#9aa4b2" font-size="11">${y0.toFixed(3)}</text>
        <text x="${W - 60}" y="${H - 4}" fill="#9aa4b2" font-size="11">round ${x1}</text>
        ${this.series.map((s) => svg`<polyline fill="none" stroke=${s.color} stroke-width="2" points=${s.points.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' ')} />`)}
      </svg>`;
  }
}
customElements.define('grid-chart', GridChart);
