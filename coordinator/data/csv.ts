import { GridError } from '../../protocol/errors';
import { encodeTargets, MAX_CLASSES, type Targets } from '../../protocol/targets';
import { buildDataset, type LoadedDataset } from './datasets';

const bad = (message: string) => new GridError('BAD_REQUEST', message);

/** The longest CSV line (characters) and the most columns a row may have: refused at the first character past either. */
export const MAX_LINE_CHARS = 1 << 20;
export const MAX_COLUMNS = 100_000;

/** How a CSV's last columns label its samples: one class column (the default), or `width` multi-label or regression columns. */
export type CsvTargets = Omit<Targets, 'dtype'>;

/**
 * A CSV data set parsed as it streams in: numeric feature columns, then the targets (an integer class 0..65535, or
 * `width` 0/1 labels or regression values), an optional header row. Chunks may split a line, a number or a UTF-8
 * character anywhere; memory grows with the parsed samples only.
 */
export class CsvParser {
  constructor(private readonly targets: CsvTargets = { kind: 'class', width: 1 }) {}

  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private carry = '';
  private width = 0;
  private rows = 0;
  private line = 0;
  private features = new Float32Array(1024);
  private labels = new Float32Array(256);

  push(bytes: Uint8Array): this {
    let text: string;
    try {
      text = this.carry + this.decoder.decode(bytes, { stream: true });
    } catch {
      throw bad('CSV is not valid UTF-8');
    }
    const lines = text.split('\n');
    this.carry = lines.pop() ?? '';
    for (const l of lines) this.row(l);
    // A line without its end is held until the end comes: bounded, so one endless line cannot hold the memory.
    if (this.carry.length > MAX_LINE_CHARS) throw bad(`CSV line ${this.line + 1} is longer than ${MAX_LINE_CHARS} characters`);
    return this;
  }

  finish(name: string, split: string): LoadedDataset {
    this.row(this.carry + this.decoder.decode());
    if (this.rows === 0) throw bad('CSV has no data rows');
    const { kind, width } = this.targets;
    const values = this.labels.slice(0, this.rows * width);
    const features = this.features.slice(0, this.rows * (this.width - width));
    if (kind !== 'class') {
      const t: Targets = { kind, width, dtype: kind === 'regression' ? 'f32' : 'u8' };
      return buildDataset(name, split, encodeTargets(values, t), features, [this.width - width], kind === 'regression' ? 0 : width, t);
    }
    const classes = Math.max(2, values.reduce((m, v) => Math.max(m, v), 0) + 1);
    const t: Targets = { kind, width: 1, dtype: classes > 256 ? 'u16' : 'u8' };
    return buildDataset(name, split, encodeTargets(values, t), features, [this.width - 1], classes, t);
  }

  private row(raw: string) {
    this.line++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return;
    if (text.length > MAX_LINE_CHARS) throw bad(`CSV line ${this.line} is longer than ${MAX_LINE_CHARS} characters`);
    const cells = text.split(',');
    if (cells.length > MAX_COLUMNS) throw bad(`CSV line ${this.line} has ${cells.length} columns; at most ${MAX_COLUMNS}`);
    if (this.width === 0) {
      if (Number.isNaN(Number(cells[0]))) return; // header row
      const { width } = this.targets;
      if (cells.length < width + 1) throw bad(`CSV needs at least one feature column and ${width === 1 ? 'a label column' : `${width} target columns`}`);
      this.width = cells.length;
    }
    if (cells.length !== this.width) throw bad(`CSV line ${this.line} has ${cells.length} columns, expected ${this.width}`);
    const { kind, width } = this.targets;
    const n = this.width - width;
    this.reserve((this.rows + 1) * n, (this.rows + 1) * width);
    for (let c = 0; c < n; c++) {
      const v = Number(cells[c]);
      if (!Number.isFinite(v)) throw bad(`CSV line ${this.line} column ${c + 1} is not a number`);
      this.features[this.rows * n + c] = v;
    }
    for (let k = 0; k < width; k++) this.labels[this.rows * width + k] = this.target(cells[n + k], kind, n + k + 1);
    this.rows++;
  }

  private target(cell: string, kind: CsvTargets['kind'], column: number): number {
    const v = Number(cell);
    if (kind === 'class' && !(Number.isInteger(v) && v >= 0 && v < MAX_CLASSES))
      throw bad(`CSV line ${this.line} label must be an integer 0..${MAX_CLASSES - 1}`);
    if (kind === 'multi-label' && v !== 0 && v !== 1) throw bad(`CSV line ${this.line} column ${column} must be 0 or 1 (a multi-label target)`);
    if (!Number.isFinite(v)) throw bad(`CSV line ${this.line} column ${column} is not a number`);
    return v;
  }

  private reserve(features: number, targets: number) {
    this.features = grown(this.features, features);
    this.labels = grown(this.labels, targets);
  }
}

/** `a`, or a copy at least twice as long when it cannot hold `needed` values. */
function grown(a: Float32Array<ArrayBuffer>, needed: number): Float32Array<ArrayBuffer> {
  if (needed <= a.length) return a;
  const out = new Float32Array(Math.max(needed, a.length * 2));
  out.set(a);
  return out;
}

/** A whole CSV text at once (a file read back at start). */
export const parseCsvDataset = (name: string, split: string, text: string | Uint8Array, targets?: CsvTargets) =>
  new CsvParser(targets).push(typeof text === 'string' ? new TextEncoder().encode(text) : text).finish(name, split);
