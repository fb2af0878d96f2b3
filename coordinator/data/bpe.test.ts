import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { trainBpe } from './bpe';
import { textDatasets } from './text';
import { huggingFaceJson, textCodec } from './text-tokenizer';

const gpl = readFileSync('/usr/share/common-licenses/GPL-3', 'utf8');

describe("byte-level BPE trained here, encoded by Hugging Face's tokenizers", () => {
  const trained = trainBpe(gpl, 512);
  const json = JSON.parse(trained.json);
  const hf = new Tokenizer(json, {});

  it("writes a tokenizer.json that Hugging Face's library loads and segments the corpus with exactly as trained", () => {
    expect(Object.keys(json.model.vocab).length).toBe(512);
    expect(json.model.merges.length).toBe(512 - 256);
    const ids = hf.encode(gpl).ids;
    expect(ids.length).toBe(trained.tokens); // the merges applied in order give the trainer's own segmentation
    expect(ids.length).toBeLessThan(gpl.length / 2); // 2.36 characters a token at 512
    expect(Math.max(...ids)).toBeLessThan(512);
    expect(hf.decode(ids)).toBe(gpl);
  });

  it('gives the same tokenizer for the same text, and round-trips text it never saw, bytes outside ASCII included', () => {
    expect(trainBpe(gpl, 512).json).toBe(trained.json);
    const unseen = 'Grüße, 世界! “quoted” — naïve café\n\ttabs';
    expect(hf.decode(hf.encode(unseen).ids)).toBe(unseen);
  });

  it('makes language-model splits in BPE tokens, with characters per token for bits per character', () => {
    const { train, validation } = textDatasets('gpl', new TextEncoder().encode(gpl), 32, { kind: 'bpe', vocab: 400 });
    expect(train.manifest.classes).toBe(400);
    expect(train.manifest.tokenizer?.kind).toBe('bpe');
    expect(train.manifest.targets).toEqual({ kind: 'class', width: 32, dtype: 'u16' });
    expect(validation.manifest.charsPerToken).toBeGreaterThan(1.5); // 1.72 at 400
    const codec = textCodec(validation.manifest.tokenizer as NonNullable<typeof validation.manifest.tokenizer>);
    expect(codec.decode(codec.encode('the Program')).toString()).toBe('the Program');
  });

  it('refuses a vocabulary size out of range, by code', () => {
    expect(() => textDatasets('gpl', new TextEncoder().encode(gpl), 32, { kind: 'bpe', vocab: 100 })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringMatching(/260\.\.65536/) }),
    );
  });

  it("writes a character tokenizer as a tokenizer.json that Hugging Face's library encodes and decodes as the grid does", () => {
    const vocab = [...new Set(gpl)].sort().join('');
    const chars = textCodec({ kind: 'char', vocab });
    const hfChars = new Tokenizer(JSON.parse(huggingFaceJson({ kind: 'char', vocab })), {});
    const text = gpl.slice(1000, 3000); // spaces, newlines and punctuation included
    const ids = hfChars.encode(text).ids;
    expect(ids).toEqual(chars.encode(text));
    expect(hfChars.decode(ids)).toBe(text);
  });
});
