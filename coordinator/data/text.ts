import { GridError } from '../../protocol/errors';
import { encodeTargets, MAX_CLASSES, type Targets } from '../../protocol/targets';
import { buildDataset, type LoadedDataset } from './datasets';

const bad = (message: string) => new GridError('BAD_REQUEST', message);

/** The share of a corpus, from its end, that becomes its validation split (nanoGPT's). */
const VALIDATION_SHARE = 0.1;

/**
 * A text corpus as a character-level language-model data set: its distinct characters (code points, in order) are
 * the vocabulary; a sample is `blockSize` tokens and its targets the same window one token on (the next token at
 * each position). The first 90% is `train`, in windows every quarter block (so a block is seen at several
 * alignments), the rest `validation`, in whole blocks. Refused: text that is not UTF-8, too short, or of more
 * distinct characters than a class may number.
 */
export function textDatasets(name: string, bytes: Uint8Array, blockSize: number): { train: LoadedDataset; validation: LoadedDataset } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw bad('text is not valid UTF-8');
  }
  const chars = [...text];
  const vocab = [...new Set(chars)].sort();
  if (vocab.length > MAX_CLASSES) throw bad(`text has ${vocab.length} distinct characters; a character-level vocabulary holds at most ${MAX_CLASSES}`);
  if (vocab.length < 2) throw bad('text needs at least two distinct characters');
  const id = new Map(vocab.map((c, i) => [c, i]));
  const tokens = Uint32Array.from(chars, (c) => id.get(c) as number);
  const cut = Math.floor(tokens.length * (1 - VALIDATION_SHARE));
  const tokenizer = { kind: 'char' as const, vocab: vocab.join('') };
  const split = (part: Uint32Array, splitName: string, stride: number) => {
    if (part.length < blockSize + 1) throw bad(`the ${splitName} split has ${part.length} characters; a block of ${blockSize} needs ${blockSize + 1}`);
    const starts = Math.floor((part.length - blockSize - 1) / stride) + 1;
    const features = vocab.length <= 256 ? new Uint8Array(starts * blockSize) : new Float32Array(starts * blockSize);
    const next = new Uint32Array(starts * blockSize);
    for (let w = 0; w < starts; w++) {
      features.set(part.subarray(w * stride, w * stride + blockSize), w * blockSize);
      next.set(part.subarray(w * stride + 1, w * stride + blockSize + 1), w * blockSize);
    }
    const targets: Targets = { kind: 'class', width: blockSize, dtype: vocab.length <= 256 ? 'u8' : 'u16' };
    return buildDataset(name, splitName, encodeTargets(next, targets), features, [blockSize], vocab.length, targets, { featureScale: 1, tokenizer });
  };
  return {
    train: split(tokens.subarray(0, cut), 'train', Math.max(1, Math.ceil(blockSize / 4))),
    validation: split(tokens.subarray(cut), 'validation', blockSize),
  };
}
