type Labels = Record<string, string | number>;

interface Series {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, number>;
}

const key = (labels: Labels = {}) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}="${String(v).replace(/["\\\n]/g, '_')}"`)
    .join(',');

/** Counters and gauges rendered in the Prometheus text exposition format. */
export class Metrics {
  private readonly series = new Map<string, Series>();
  private readonly gauges = new Map<string, () => number>();

  private get(name: string, help: string, type: Series['type']) {
    let s = this.series.get(name);
    if (!s) this.series.set(name, (s = { help, type, values: new Map() }));
    return s;
  }
  inc(name: string, help: string, labels?: Labels, by = 1) {
    const s = this.get(name, help, 'counter');
    const k = key(labels);
    s.values.set(k, (s.values.get(k) ?? 0) + by);
  }
  set(name: string, help: string, value: number, labels?: Labels) {
    this.get(name, help, 'gauge').values.set(key(labels), value);
  }
  /** A gauge read at scrape time. */
  gauge(name: string, help: string, read: () => number) {
    this.get(name, help, 'gauge');
    this.gauges.set(name, read);
  }
  render(): string {
    const lines: string[] = [];
    for (const [name, s] of this.series) {
      const read = this.gauges.get(name);
      if (read) s.values.set('', read());
      lines.push(`# HELP ${name} ${s.help}`, `# TYPE ${name} ${s.type}`);
      for (const [k, v] of s.values) lines.push(`${name}${k ? `{${k}}` : ''} ${v}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
