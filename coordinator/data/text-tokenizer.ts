import { Tokenizer } from '@huggingface/tokenizers';
import type { TextTokenizer } from '../../protocol/dataset';
import { GridError } from '../../protocol/errors';
import { tokenizerJson } from './bpe';

/** What turns text into a language model's token ids and back. */
export interface TextCodec {
  size: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

/** A data set's tokenizer as Hugging Face's `tokenizer.json`, for use outside the grid (a character one as BPE without merges). */
export function huggingFaceJson(t: TextTokenizer): string {
  if (t.kind === 'bpe') return t.json;
  return JSON.stringify(tokenizerJson(new Map([...t.vocab].map((c, i) => [c, i])), [], 'characters'));
}

/**
 * A data set's tokenizer as a codec: at character level each code point is its index in the vocabulary (one outside
 * it is refused by name); BPE encodes and decodes with Hugging Face's tokenizers library on the stored tokenizer.json.
 */
export function textCodec(t: TextTokenizer): TextCodec {
  if (t.kind === 'char') {
    const vocab = [...t.vocab];
    const ids = new Map(vocab.map((c, i) => [c, i]));
    const encode = (text: string) =>
      [...text].map((c) => {
        const id = ids.get(c);
        if (id === undefined) throw new GridError('BAD_REQUEST', `the character ${JSON.stringify(c)} is not in the model's vocabulary`);
        return id;
      });
    return { size: vocab.length, encode, decode: (ids) => ids.map((i) => vocab[i] ?? '').join('') };
  }
  const json = JSON.parse(t.json) as { model: { vocab: Record<string, number> } };
  const tokenizer = new Tokenizer(json, {});
  return {
    size: Object.keys(json.model.vocab).length,
    encode: (text) => tokenizer.encode(text).ids,
    decode: (ids) => tokenizer.decode([...ids]),
  };
}
