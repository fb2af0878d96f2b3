import { GridError } from '../../protocol/errors';
import { buildDataset, type LoadedDataset } from './datasets';

const bad = (message: string) => new GridError('BAD_REQUEST', message);

/**
 * A CSV data set parsed as it streams in: numeric feature columns, an integer label 0..255 last, an optional header
 * row. Chunks may split a line, a number or a UTF-8 character anywhere; memory grows with the parsed samples only.
 */
export class CsvParser {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private carry = '';
  private width = 0;
  private rows = 0;
  private line = 0;
  private features = new Float32Array(1024);
  private labels = new Uint8Array(256);

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
    return this;
  }

  finish(name: string, split: string): LoadedDataset {
    this.row(this.carry + this.decoder.decode());
    if (this.rows === 0) throw bad('CSV has no data rows');
    let maxLabel = 0;
    const labels = this.labels.slice(0, this.rows);
    for (const l of labels) maxLabel = Math.max(maxLabel, l);
    const features = this.features.slice(0, this.rows * (this.width - 1));
    return buildDataset(name, split, labels, features, [this.width - 1], Math.max(2, maxLabel + 1));
  }

  private row(raw: string) {
    this.line++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return;
    const cells = text.split(',');
    if (this.width === 0) {
      if (Number.isNaN(Number(cells[0]))) return; // header row
      if (cells.length < 2) throw bad('CSV needs at least one feature column and a label column');
      this.width = cells.length;
    }
    if (cells.length !== this.width) throw bad(`CSV line ${this.line} has ${cells.length} columns, expected ${this.width}`);
    const n = this.width - 1;
    this.reserve((this.rows + 1) * n);
    for (let c = 0; c < n; c++) {
      const v = Number(cells[c]);
      if (!Number.isFinite(v)) throw bad(`CSV line ${this.line} column ${c + 1} is not a number`);
      this.features[this.rows * n + c] = v;
    }
    const label = Number(cells[n]);
    if (!Number.isInteger(label) || label < 0 || label > 255) throw bad(`CSV line ${this.line} label must be an integer 0..255`);
    this.labels[this.rows++] = label;
  }

  private reserve(values: number) {
    if (values > this.features.length) {
      const grown = new Float32Array(Math.max(values, this.features.length * 2));
      grown.set(this.features);
      this.features = grown;
    }
    if (this.rows + 1 > this.labels.length) {
      const grown = new Uint8Array(this.labels.length * 2);
      grown.set(this.labels);
      this.labels = grown;
    }
  }
}

/** A whole CSV text at once (a file read back at start). */
export const parseCsvDataset = (name: string, split: string, text: string | Uint8Array) =>
  new CsvParser().push(typeof text === 'string' ? new TextEncoder().encode(text) : text).finish(name, split);
