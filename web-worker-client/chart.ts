import { css, html, LitElement, type PropertyValues, unsafeCSS } from 'lit';
import uPlot from 'uplot';
import uPlotCss from 'uplot/dist/uPlot.min.css?inline';

export interface Series {
  name: string;
  color: string;
  /** Drawn thin: the raw points under their smoothed line. */
  faded?: boolean;
  points: { x: number; y: number }[];
}

/**
 * A live line chart on uPlot: axes, a legend that shows the values under the cursor, x as round or time. Series
 * sampled at different x (training every round, evaluation now and then) share one x axis, gaps spanned. Dragging
 * across it zooms in on x (uPlot's own), new points then leave the zoom alone; a double click shows everything again.
 */
export class GridChart extends LitElement {
  static override properties = { series: { attribute: false }, label: {}, xLabel: {}, logY: { attribute: false } };
  static override styles = [
    unsafeCSS(uPlotCss),
    css`
      :host { display: block; margin: 8px 0; }
      .u-legend { color: #e6e6e6; font-size: 13px; }
      h3 { font-size: 14px; margin: 4px 0; color: #9aa4b2; }
    `,
  ];
  series: Series[] = [];
  label = '';
  /** 'round', or 'time' (x values are epoch milliseconds). */
  xLabel: 'round' | 'time' = 'round';
  /** y on a log scale (a loss falling over orders of magnitude); every value must then be positive. */
  logY = false;
  private plot?: uPlot;
  private shape = '';
  /** The x extent of the data last drawn: a scale narrower than it is the reader's zoom. */
  private extent: [number, number] = [0, 0];
  /** The chart follows its box's width (a phone turned, a window resized): a fixed canvas would widen the page. */
  private readonly resize = new ResizeObserver(() => this.plot?.setSize({ width: this.widthNow(), height: 220 }));

  private widthNow() {
    const target = this.renderRoot.querySelector('#plot') as HTMLElement | null;
    return Math.max(240, Math.min(1000, target?.clientWidth || 600));
  }

  override render() {
    const scale = this.logY ? ' (log scale)' : '';
    return html`<h3>${this.label}${scale}</h3><div id="plot" role="img" aria-label=${`${this.label} by ${this.xLabel}${scale}`}></div>`;
  }

  protected override updated(changed: PropertyValues) {
    super.updated(changed);
    const data = aligned(this.series, this.xLabel === 'time' ? 1000 : 1);
    const shape = `${this.xLabel}|${this.logY}|${this.series.map((s) => s.name).join(',')}`;
    const zoomed = this.zoomed(); // against the data drawn before these
    this.extent = [data[0][0], data[0][data[0].length - 1]];
    if (this.plot && shape === this.shape) return this.plot.setData(data, !zoomed);
    this.plot?.destroy();
    this.shape = shape;
    const target = this.renderRoot.querySelector('#plot') as HTMLElement;
    const axis = { stroke: '#9aa4b2', grid: { stroke: '#2a2f3a' }, ticks: { stroke: '#2a2f3a' } };
    this.plot = new uPlot(
      {
        width: this.widthNow(),
        height: 220,
        scales: { x: { time: this.xLabel === 'time' }, y: this.logY ? { distr: 3 } : {} },
        axes: [
          { ...axis, label: this.xLabel === 'time' ? 'time' : 'round' },
          { ...axis, size: 64 },
        ], // room for 5-digit labels (samples/s)
        series: [{ label: this.xLabel }, ...this.series.map((s) => ({ label: s.name, stroke: s.color, width: s.faded ? 1 : 2, spanGaps: true }))],
      },
      data,
      target,
    );
    this.resize.observe(target);
  }

  /** The x range shown: the data's, or the part the reader dragged across. */
  get xRange(): [number, number] | undefined {
    const x = this.plot?.scales.x;
    return x?.min === undefined || x.max === undefined ? undefined : [x.min, x.max];
  }

  private zoomed() {
    const shown = this.xRange;
    const slack = 1e-9 * Math.max(1, Math.abs(this.extent[1]));
    return shown !== undefined && (shown[0] > this.extent[0] + slack || shown[1] < this.extent[1] - slack);
  }

  override disconnectedCallback() {
    super.disconnectedCallback();
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = undefined;
    this.shape = '';
  }
}
customElements.define('grid-chart', GridChart);

/** One x array (the union of every series' x, divided by `xScale`) and each series' y at it, null where it has none. */
function aligned(series: Series[], xScale: number): uPlot.AlignedData {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const y: (number | null)[] = new Array(xs.length).fill(null);
    for (const p of s.points) y[index.get(p.x) as number] = p.y;
    return y;
  });
  return [xs.map((x) => x / xScale), ...ys];
}
