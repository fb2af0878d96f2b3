/**
 * A byte-level BPE trainer (Sennrich et al. 2016, as GPT-2 applies it to bytes) writing Hugging Face's
 * `tokenizer.json`, which `@huggingface/tokenizers` (and Python's `tokenizers`, and transformers) then encode and
 * decode with. That library has no trainer in JavaScript, hence this one; encoding is left to it.
 */

/** GPT-2's split into words before merging: contractions, letters, digits, other symbols, spaces. */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's printable stand-in for each byte (bytes that print as themselves keep their character). */
export const BYTE_CHARS: string[] = (() => {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : 256 + extra++));
})();

const encoder = new TextEncoder();
const pairKey = (a: string, b: string) => `${a} ${b}`; // byte characters never include a space (it is Ġ)

/**
 * Merges learned until the vocabulary holds `vocabSize` tokens (256 bytes, then one per merge) or no pair occurs
 * twice. Each step merges the most frequent adjacent pair, ties to the pair first in code-point order, so a corpus
 * always gives the same tokenizer. Pair counts are updated in the words a merge touches only.
 */
export function trainBpe(text: string, vocabSize: number): { json: string; tokens: number } {
  const counts = new Map<string, number>();
  for (const [word] of text.matchAll(GPT2_SPLIT)) counts.set(word, (counts.get(word) ?? 0) + 1);
  const words = [...counts.entries()].map(([word, n]) => ({ symbols: Array.from(encoder.encode(word), (b) => BYTE_CHARS[b]), n }));
  const pairs = new Map<string, { count: number; words: Set<number> }>();
  const addPairs = (w: number, sign: 1 | -1) => {
    const { symbols, n } = words[w];
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = pairKey(symbols[i], symbols[i + 1]);
      const p = pairs.get(key) ?? { count: 0, words: new Set<number>() };
      p.count += sign * n;
      if (sign > 0) p.words.add(w);
      pairs.set(key, p);
    }
  };
  words.forEach((_, w) => addPairs(w, 1));
  const merges: string[] = [];
  const vocab = new Map(BYTE_CHARS.map((c, i) => [c, i]));
  while (vocab.size < vocabSize) {
    let best: string | undefined;
    let bestCount = 1;
    for (const [key, p] of pairs) if (p.count > bestCount || (p.count === bestCount && best !== undefined && key < best)) [best, bestCount] = [key, p.count];
    if (best === undefined) break;
    const [a, b] = best.split(' ');
    const merged = a + b;
    for (const w of [...(pairs.get(best)?.words ?? [])]) {
      addPairs(w, -1);
      const s = words[w].symbols;
      const out: string[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          out.push(merged);
          i++;
        } else out.push(s[i]);
      }
      words[w].symbols = out;
      addPairs(w, 1);
    }
    pairs.delete(best);
    merges.push(best);
    if (!vocab.has(merged)) vocab.set(merged, vocab.size);
  }
  // The corpus's length in tokens as trained: what any encoder applying these merges in order must give.
  const tokens = words.reduce((n, w) => n + w.n * w.symbols.length, 0);
  return { json: JSON.stringify(tokenizerJson(vocab, merges)), tokens };
}

/**
 * Hugging Face's `tokenizer.json` for BPE: byte-level (GPT-2's layout: no normalizer, ByteLevel split and decoder),
 * or over characters (no split, no merges: each character its own token, decoded by joining them).
 */
export function tokenizerJson(vocab: Map<string, number>, merges: string[], over: 'bytes' | 'characters' = 'bytes') {
  const byteLevel = over === 'bytes' ? { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true } : null;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel ?? { type: 'Fuse' },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(vocab),
      merges,
    },
  };
}
