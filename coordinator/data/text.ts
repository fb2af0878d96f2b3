import type { TextTokenizer } from '../../protocol/dataset';
import { GridError } from '../../protocol/errors';
import { encodeTargets, MAX_CLASSES, type Targets } from '../../protocol/targets';
import { trainBpe } from './bpe';
import { buildDataset, type LoadedDataset } from './datasets';
import { textCodec } from './text-tokenizer';

const bad = (message: string) => new GridError('BAD_REQUEST', message);

/** The share of a corpus, from its end, that becomes its validation split (nanoGPT's). */
const VALIDATION_SHARE = 0.1;

/** How to tokenize an upload: by character, byte-level BPE trained to `vocab` tokens, or a tokenizer stored before. */
export type TokenizerChoice = { kind: 'char' } | { kind: 'bpe'; vocab: number } | { kind: 'stored'; tokenizer: TextTokenizer };

/** The smallest and largest BPE vocabularies: the 256 bytes and a few merges, up to what a u16 class holds. */
export const BPE_VOCAB = { min: 260, max: MAX_CLASSES };

function tokenizerFor(text: string, choice: TokenizerChoice): TextTokenizer {
  if (choice.kind === 'stored') return choice.tokenizer;
  if (choice.kind === 'bpe') {
    if (!Number.isInteger(choice.vocab) || choice.vocab < BPE_VOCAB.min || choice.vocab > BPE_VOCAB.max)
      throw bad(`a BPE vocabulary of ${choice.vocab}: ${BPE_VOCAB.min}..${BPE_VOCAB.max} tokens`);
    return { kind: 'bpe', json: trainBpe(text, choice.vocab).json };
  }
  const vocab = [...new Set(text)].sort();
  if (vocab.length > MAX_CLASSES) throw bad(`text has ${vocab.length} distinct characters; a character-level vocabulary holds at most ${MAX_CLASSES}`);
  if (vocab.length < 2) throw bad('text needs at least two distinct characters');
  return { kind: 'char', vocab: vocab.join('') };
}

/**
 * A text corpus as a language-model data set: tokens by character (the distinct code points, in order, are the
 * vocabulary) or byte-level BPE (bpe.ts, encoded by Hugging Face's tokenizers); a sample is `blockSize` tokens and
 * its targets the same window one token on (the next token at each position). The first 90% of the text is `train`,
 * in windows every quarter block (so a block is seen at several alignments), the rest `validation`, in whole
 * blocks. Refused: text that is not UTF-8, too short, of more distinct characters than a class may number, or a
 * vocabulary size out of range.
 */
export function textDatasets(
  name: string,
  bytes: Uint8Array,
  blockSize: number,
  choice: TokenizerChoice = { kind: 'char' },
): { train: LoadedDataset; validation: LoadedDataset } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw bad('text is not valid UTF-8');
  }
  const tokenizer = tokenizerFor(text, choice);
  const codec = textCodec(tokenizer);
  // Split by characters, then tokenized apart: the validation text is never seen by the train split's windows.
  const chars = [...text];
  const cut = Math.floor(chars.length * (1 - VALIDATION_SHARE));
  const [trainText, validText] = [chars.slice(0, cut).join(''), chars.slice(cut).join('')];
  const vocabSize = codec.size;
  const split = (partText: string, splitName: string, stride: number) => {
    const part = Uint32Array.from(codec.encode(partText));
    const charsPerToken = [...partText].length / Math.max(1, part.length);
    if (part.length < blockSize + 1) throw bad(`the ${splitName} split has ${part.length} tokens; a block of ${blockSize} needs ${blockSize + 1}`);
    const starts = Math.floor((part.length - blockSize - 1) / stride) + 1;
    const features = vocabSize <= 256 ? new Uint8Array(starts * blockSize) : new Float32Array(starts * blockSize);
    const next = new Uint32Array(starts * blockSize);
    for (let w = 0; w < starts; w++) {
      features.set(part.subarray(w * stride, w * stride + blockSize), w * blockSize);
      next.set(part.subarray(w * stride + 1, w * stride + blockSize + 1), w * blockSize);
    }
    const targets: Targets = { kind: 'class', width: blockSize, dtype: vocabSize <= 256 ? 'u8' : 'u16' };
    const extra = { featureScale: 1, tokenizer, ...(tokenizer.kind === 'bpe' && { charsPerToken }) };
    return buildDataset(name, splitName, encodeTargets(next, targets), features, [blockSize], vocabSize, targets, extra);
  };
  return {
    train: split(trainText, 'train', Math.max(1, Math.ceil(blockSize / 4))),
    validation: split(validText, 'validation', blockSize),
  };
}
