import { css, html, LitElement } from 'lit';

/** How a text corpus becomes a language-model data set (the coordinator's `format=text` upload). */
export interface TextOptions {
  blockSize: number;
  tokenizer: 'char' | 'bpe';
  vocab: number;
}

/** What the form hands the console to upload: `text` for a corpus (.txt, or .txt files in a zip or tar). */
export interface UploadRequest {
  file: File;
  name: string;
  split: string;
  text?: TextOptions;
}

/** The query of a corpus upload: blocks of `blockSize` tokens, by character or by a BPE trained to `vocab`. */
export const corpusQuery = (t: TextOptions) =>
  new URLSearchParams({
    format: 'text',
    blockSize: String(t.blockSize),
    tokenizer: t.tokenizer,
    ...(t.tokenizer === 'bpe' && { vocab: String(t.vocab) }),
  }).toString();

/** A corpus by its file name: text, or an archive of text files. */
export const isCorpus = (fileName: string) => /\.(txt|zip|tar|tar\.gz|tgz)$/i.test(fileName);

/**
 * The upload form under the job form: a data set (CSV; .npy inputs; a text corpus, with how it is tokenized) or an
 * ONNX model. It only collects; the console uploads with the token and offers the result in the job form.
 */
export class GridUploadForm extends LitElement {
  static override styles = css`
    form { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 10px 16px; margin-top: 8px; }
    label { display: flex; flex-direction: column; font-size: 13px; color: #9aa4b2; }
    .wide { grid-column: 1 / -1; }
    input, select { font: inherit; color: #e6e6e6; background: #0f1115; border: 1px solid #2a2f3a; border-radius: 6px; padding: 5px; }
    button { font: inherit; padding: 6px 12px; border-radius: 6px; border: 0; background: #2563eb; color: #fff; cursor: pointer; }
  `;

  private upload(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement;
    const file = field('file').files?.[0];
    if (!file) return;
    const text: TextOptions | undefined = isCorpus(file.name)
      ? { blockSize: Number(field('blockSize').value), tokenizer: field('tokenizer').value as TextOptions['tokenizer'], vocab: Number(field('vocab').value) }
      : undefined;
    const detail: UploadRequest = { file, name: field('name').value, split: field('split').value, ...(text && { text }) };
    this.dispatchEvent(new CustomEvent('upload-dataset', { detail, bubbles: true, composed: true }));
  }

  override render() {
    return html`<details id="upload"><summary>Upload a data set or a model</summary>
      <form @submit=${this.upload}>
        <label class="wide">File: a data set (CSV, features then the label; a numpy .npy of inputs; a text corpus: .txt, or
          .txt files in a .zip, .tar or .tar.gz), or an ONNX model to run
          <input name="file" type="file" accept=".csv,.npy,.onnx,.txt,.zip,.tar,.gz,.tgz,text/csv,text/plain" required /></label>
        <label>Name <input name="name" pattern="[A-Za-z0-9][A-Za-z0-9._-]*" required /></label>
        <label>Split (a corpus makes train and validation) <input name="split" value="train" pattern="[A-Za-z0-9_-]+" required /></label>
        <label>Corpus: tokens a sample <input name="blockSize" type="number" min="1" max="4096" value="64" /></label>
        <label>Corpus: tokenizer <select name="tokenizer"><option value="char">by character</option><option value="bpe">byte-level BPE</option></select></label>
        <label>Corpus: BPE vocabulary <input name="vocab" type="number" min="260" max="65536" value="1024" /></label>
        <div><button type="submit">Upload</button></div>
      </form>
    </details>`;
  }
}
customElements.define('grid-upload-form', GridUploadForm);
