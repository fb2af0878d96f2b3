import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { zipSync } from 'fflate';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onnx } from '../kernels/onnx/graph';
import { type DatasetManifest, gatherBatch } from '../protocol/dataset';
import { api, mlpJob, spawnTs, startTestCoordinator, tempDir, trainOnOrtNode } from './helpers';

/** Mean next-token cross-entropy (nats) of `logits` [n, positions, vocab] against a class per position. */
function nextTokenLoss(logits: Float32Array, size: number, targets: ArrayLike<number>): number {
  let nats = 0;
  for (let t = 0; t < targets.length; t++) {
    const row = logits.subarray(t * size, (t + 1) * size);
    const top = Math.max(...row);
    nats += top + Math.log(row.reduce((sum, v) => sum + Math.exp(v - top), 0)) - row[targets[t]];
  }
  return nats / targets.length;
}

// A character-level language model end to end: a text corpus uploaded (the GPL, which every Debian machine has), a
// small GPT preset trained by the grid on next-token prediction, its validation loss against the unigram baseline.
describe('a character-level GPT trained on the grid', () => {
  let coord: Awaited<ReturnType<typeof startTestCoordinator>>;
  let url: string;
  /** The character GPT trained below, which the LoRA test fine-tunes. */
  let charJob = 0;
  const token = 'gt_lm_operator';
  const corpus = readFileSync('/usr/share/common-licenses/GPL-3');

  beforeAll(async () => {
    coord = await startTestCoordinator(tempDir('grid-lm-'), token);
    url = `http://127.0.0.1:${coord.port}`;
  });
  afterAll(() => coord?.close());

  /** Every block of a text data set's validation split, fetched as the grid's workers fetch it. */
  const validationBlocks = async (name: string) => {
    const auth = { headers: { authorization: `Bearer ${token}` } };
    const manifest = await api<DatasetManifest>(url, token, `/api/datasets/${name}/validation`);
    const chunks = await Promise.all(
      manifest.chunks.map(async (c) => new Uint8Array(await (await fetch(`${url}/api/datasets/${name}/validation/chunks/${c.index}`, auth)).arrayBuffer())),
    );
    return gatherBatch(
      manifest,
      (c) => chunks[c],
      Uint32Array.from({ length: manifest.samples }, (_, i) => i),
    );
  };

  it('registers the text (or a zip of .txt files) as train and validation blocks, and refuses text that is not UTF-8', async () => {
    const post = (body: Uint8Array, path: string) => fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body });
    const res = await post(corpus, '/api/datasets/gpl/train?format=text&blockSize=32');
    expect(res.status).toBe(201);
    const train = (await res.json()) as { samples: number; classes: number; targets: unknown; tokenizer: { vocab: string }; chunks: unknown };
    expect(train.targets).toEqual({ kind: 'class', width: 32, dtype: 'u8' });
    expect(train.classes).toBe([...train.tokenizer.vocab].length);
    const listed = await api<{ name: string; split: string }[]>(url, token, '/api/datasets');
    expect(
      listed
        .filter((d) => d.name === 'gpl')
        .map((d) => d.split)
        .sort(),
    ).toEqual(['train', 'validation']);
    const broken = await post(Uint8Array.of(0x61, 0xff, 0x62), '/api/datasets/broken/train?format=text');
    expect([broken.status, ((await broken.json()) as { error: { code: string } }).error.code]).toEqual([400, 'BAD_REQUEST']);
    // The same text as two .txt files of a zip, cut after a line (the GPL ends with a newline): the same blocks.
    const cut = corpus.indexOf(10, corpus.byteLength >> 1) + 1;
    const zip = zipSync({ 'gpl/1.txt': corpus.subarray(0, cut), 'gpl/2.txt': corpus.subarray(cut) });
    const zipped = await post(zip, '/api/datasets/gplzip/train?format=text&blockSize=32');
    expect(zipped.status).toBe(201);
    expect(((await zipped.json()) as { chunks: unknown }).chunks).toEqual(train.chunks);
    // A zip without text is refused, and nothing is registered.
    const empty = await post(zipSync({ 'notes.md': new TextEncoder().encode('no text') }), '/api/datasets/gplnone/train?format=text');
    expect([empty.status, ((await empty.json()) as { error: { message: string } }).error.message]).toEqual([400, 'the archive holds no .txt files']);
    expect((await api<{ name: string }[]>(url, token, '/api/datasets')).some((d) => d.name === 'gplnone')).toBe(false);
  });

  it('learns: validation loss well under the unigram baseline, with perplexity and bits per character recorded', async () => {
    const text = [...new TextDecoder().decode(corpus)];
    const validation = text.slice(Math.floor(text.length * 0.9));
    const counts = new Map<string, number>();
    for (const c of validation) counts.set(c, (counts.get(c) ?? 0) + 1);
    // The best a model that ignores context can do on the validation split: its own character entropy, in nats.
    const unigram = -[...counts.values()].reduce((h, n) => h + (n / validation.length) * Math.log(n / validation.length), 0);
    const vocab = new Set(text).size;
    const spec = mlpJob({
      model: { kind: 'gpt', vocab, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 32 },
      dataset: { name: 'gpl', split: 'train', evalSplit: 'validation' },
      rounds: 300,
      optimizer: { kind: 'adamw', lr: 0.006 },
      globalBatch: 32,
      shardSize: 16,
      evalEvery: 300,
    });
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', spec);
    charJob = id;
    await trainOnOrtNode(url, token, id, {}, 180_000);
    const metrics = await api<{ name: string; value: number }[]>(url, token, `/api/jobs/${id}/metrics`);
    const last = (name: string) => metrics.filter((m) => m.name === name).at(-1)?.value ?? Number.NaN;
    console.log(
      `char GPT on the GPL: validation ${last('test_loss').toFixed(3)} nats/char (unigram ${unigram.toFixed(3)}), ` +
        `perplexity ${last('test_perplexity').toFixed(2)}, ${last('test_bits_per_char').toFixed(3)} bits/char, next-char accuracy ${(last('test_accuracy') * 100).toFixed(1)}%`,
    );
    expect(last('test_loss')).toBeLessThan(unigram - 0.5);
    expect(last('test_perplexity')).toBeCloseTo(Math.exp(last('test_loss')), 4);
    expect(last('test_bits_per_char')).toBeCloseTo(last('test_loss') / Math.LN2, 4);

    // Generation from the last checkpoint: the same request gives the same text, of the characters it knows.
    const generate = (body: unknown) =>
      fetch(`${url}/api/jobs/${id}/generate`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    const ask = { prompt: 'This License ', maxTokens: 60, temperature: 0.8, topK: 10, seed: 5 };
    const [a, b] = await Promise.all([generate(ask), generate(ask)]);
    const [ta, tb] = [((await a.json()) as { text: string }).text, ((await b.json()) as { text: string }).text];
    console.log(`generated: ${JSON.stringify(ask.prompt + ta)}`);
    expect([a.status, [...ta].length, ta]).toEqual([200, 60, tb]);
    expect([...ta].every((c) => text.includes(c))).toBe(true);
    const greedy = ((await (await generate({ ...ask, temperature: 0 })).json()) as { text: string }).text;
    expect(greedy).not.toBe(ta);
    const unknown = await generate({ ...ask, prompt: 'ünïcode ✓' });
    expect([unknown.status, ((await unknown.json()) as { error: { code: string } }).error.code]).toEqual([400, 'BAD_REQUEST']);

    // The model for use outside the grid: input_ids [batch, sequence] to logits, any length up to the block, with its
    // tokenizer.json inside it and at its own address. Greedy decoding in this process gives what the grid gave.
    const auth = { headers: { authorization: `Bearer ${token}` } };
    const file = new Uint8Array(await (await fetch(`${url}/api/jobs/${id}/model.onnx`, auth)).arrayBuffer());
    const tokenizerJson = await (await fetch(`${url}/api/jobs/${id}/tokenizer.json`, auth)).text();
    // The researcher CLI hands out the same file.
    const saved = join(tempDir('grid-lm-cli-'), 'tokenizer.json');
    const cli = spawnTs('cli/grid.ts', ['jobs', 'download', String(id), '--tokenizer', '--out', saved], { GRID_COORDINATOR: url, GRID_TOKEN: token });
    expect(await new Promise((r) => cli.child.on('exit', r))).toBe(0);
    expect(readFileSync(saved, 'utf8')).toBe(tokenizerJson);
    // And continues a prompt as the API does; and lists what the model wrote at its evaluation.
    const cliEnv = { GRID_COORDINATOR: url, GRID_TOKEN: token };
    const asked = spawnTs('cli/grid.ts', ['jobs', 'generate', String(id), ask.prompt, '--tokens', '60', '--top-k', '10', '--seed', '5', '--json'], cliEnv);
    expect(await asked.exited).toBe(0);
    expect(JSON.parse(asked.output.join(''))).toEqual({ prompt: ask.prompt, text: ta });
    const listed = spawnTs('cli/grid.ts', ['jobs', 'samples', String(id), '--json'], cliEnv);
    expect(await listed.exited).toBe(0);
    const written = listed.output.map((l) => JSON.parse(l) as { round: number; text: string });
    expect(written.map((w) => w.round)).toEqual([300, 300]);
    expect(written.every((w) => w.text.length > 0 && [...w.text].every((c) => text.includes(c)))).toBe(true);
    const metadata = onnx.ModelProto.decode(file).metadataProps ?? [];
    expect(metadata.find((m) => m.key === 'tokenizer.json')?.value).toBe(tokenizerJson);
    const session = await ort.InferenceSession.create(file);
    expect([session.inputNames, session.outputNames]).toEqual([['input_ids'], ['logits']]);
    const tokenizer = new Tokenizer(JSON.parse(tokenizerJson), {});
    const ids = tokenizer.encode(ask.prompt).ids;
    expect(ids.length).toBe(ask.prompt.length); // a token per character
    const continued: number[] = [];
    for (let n = 0; n < 16; n++) {
      const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]) });
      const [, positions, size] = out.logits.dims;
      expect(positions).toBe(ids.length);
      const last = (out.logits.data as Float32Array).subarray((positions - 1) * size, positions * size);
      const next = last.indexOf(Math.max(...last));
      ids.push(next);
      continued.push(next);
    }
    console.log(`greedy outside the grid: ${JSON.stringify(ask.prompt + tokenizer.decode(continued))}`);
    expect(tokenizer.decode(continued)).toBe([...greedy].slice(0, 16).join(''));
    // And over the whole validation split, as the grid's workers fetch it: the next-token loss the grid recorded.
    const blocks = await validationBlocks('gpl');
    const [n, block] = [blocks.y.length, blocks.x.length / blocks.y.length];
    const input = new ort.Tensor(
      'int64',
      BigInt64Array.from(blocks.x, (v) => BigInt(v)),
      [n, block],
    );
    const logits = (await session.run({ input_ids: input })).logits;
    const nats = nextTokenLoss(logits.data as Float32Array, logits.dims[2], blocks.targets ?? []);
    console.log(`exported model on the validation split: ${nats.toFixed(4)} nats/char; the grid recorded ${last('test_loss').toFixed(4)}`);
    expect(Math.abs(nats - last('test_loss'))).toBeLessThan(1e-3);
    expect(blocks.x.length).toBe(n * block);
    await session.release();
  }, 240_000);

  it('fine-tunes the trained GPT on a second corpus with LoRA: adapters alone on the wire, the merged export scores what the grid recorded', async () => {
    const auth = { headers: { authorization: `Bearer ${token}` } };
    // The trained GPT, registered as a model (the grid's fixed-block form: input [batch, 32], logits [batch, 32, vocab]).
    const registered = await fetch(`${url}/api/models/from-job/${charJob}`, { method: 'POST', ...auth });
    const { sha256 } = (await registered.json()) as { sha256: string };
    // A second corpus with the same characters (the GPL's lines, sorted): the same token ids, other text.
    const lines = new TextDecoder().decode(corpus).split('\n');
    const second = [...lines].sort().join('\n');
    const up = await fetch(`${url}/api/datasets/gplsorted/train?format=text&blockSize=32`, { method: 'POST', ...auth, body: second });
    const [a, b] = [await api<{ tokenizer: unknown }>(url, token, '/api/datasets/gpl/train'), (await up.json()) as { tokenizer: unknown }];
    expect(b.tokenizer).toEqual(a.tokenizer);
    const validation = async (file: Uint8Array, input: 'input' | 'input_ids') => {
      const blocks = await validationBlocks('gplsorted');
      const session = await ort.InferenceSession.create(file);
      const x = new ort.Tensor('float32', blocks.x, [blocks.y.length, 32]);
      const logits = (await session.run({ [input]: x })).logits;
      await session.release();
      return nextTokenLoss(logits.data as Float32Array, logits.dims[2], blocks.targets ?? []);
    };
    const base = await validation(new Uint8Array(await (await fetch(`${url}/api/models/${sha256}/model.onnx`, auth)).arrayBuffer()), 'input');

    const lora = { rank: 4, alpha: 8, targets: ['*.wq', '*.wv', 'l2.1.w'] };
    const rounds = 200;
    const spec = mlpJob({
      model: { kind: 'onnx', sha256, loss: 'cross-entropy', lora },
      dataset: { name: 'gplsorted', split: 'train', evalSplit: 'validation' },
      optimizer: { kind: 'adamw', lr: 0.01 },
      ...{ rounds, globalBatch: 32, shardSize: 16, evalEvery: rounds, checkpointEvery: rounds },
    });
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', spec);
    await trainOnOrtNode(url, token, id, {}, 180_000);
    const recorded =
      (await api<{ name: string; value: number }[]>(url, token, `/api/jobs/${id}/metrics`)).filter((m) => m.name === 'test_loss').at(-1)?.value ?? 0;
    const adapters = 2 * (32 * 4 + 4 * 32) + (32 * 4 + 4 * 128); // wq and wv of the one block, and the MLP's first dense
    const perRound = new Map<number, number>();
    for (const r of (await coord.store.results(id)).filter((x) => x.accepted === 1)) perRound.set(r.round, (perRound.get(r.round) ?? 0) + r.bytes);
    const merged = await validation(new Uint8Array(await (await fetch(`${url}/api/jobs/${id}/model.onnx`, auth)).arrayBuffer()), 'input');
    console.log(
      `LoRA on the GPT, second corpus: validation ${base.toFixed(3)} -> ${recorded.toFixed(3)} nats/char (merged export ${merged.toFixed(4)}); ` +
        `${Math.max(...perRound.values())} bytes up a round, the adapters ${adapters * 4} bytes`,
    );
    expect(recorded).toBeLessThan(base - 0.03); // the adapters learned the new text
    expect(Math.abs(merged - recorded)).toBeLessThan(1e-3);
    expect(Math.max(...perRound.values())).toBeLessThanOrEqual(2 * adapters * 4);
  }, 240_000);

  it('trains on byte-level BPE tokens: bits per character from the characters a token stands for, text generated', async () => {
    const res = await fetch(`${url}/api/datasets/gplbpe/train?format=text&blockSize=32&tokenizer=bpe&vocab=320`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: corpus,
    });
    expect(res.status).toBe(201);
    const train = (await res.json()) as { classes: number; tokenizer: { kind: string; json: string } };
    expect([train.classes, train.tokenizer.kind]).toEqual([320, 'bpe']);
    const file = await fetch(`${url}/api/datasets/gplbpe/train/tokenizer.json`, { headers: { authorization: `Bearer ${token}` } });
    expect(await file.text()).toBe(train.tokenizer.json); // what Hugging Face's libraries load
    const none = await fetch(`${url}/api/datasets/fashion-mnist/test/tokenizer.json`, { headers: { authorization: `Bearer ${token}` } });
    expect(none.status).toBe(400); // images: no tokenizer
    const spec = mlpJob({
      model: { kind: 'gpt', vocab: 320, blockSize: 32, nLayer: 1, nHead: 2, nEmbd: 32 },
      dataset: { name: 'gplbpe', split: 'train', evalSplit: 'validation' },
      rounds: 200,
      optimizer: { kind: 'adamw', lr: 0.006 },
      globalBatch: 32,
      shardSize: 16,
      evalEvery: 200,
    });
    const { id } = await api<{ id: number }>(url, token, '/api/jobs', spec);
    await trainOnOrtNode(url, token, id, {}, 180_000);
    const metrics = await api<{ name: string; value: number }[]>(url, token, `/api/jobs/${id}/metrics`);
    const last = (name: string) => metrics.filter((m) => m.name === name).at(-1)?.value ?? Number.NaN;
    const validation = await api<{ charsPerToken: number }>(url, token, '/api/datasets/gplbpe/validation');
    console.log(
      `BPE-320 GPT on the GPL: ${last('test_loss').toFixed(3)} nats/token, ${last('test_bits_per_char').toFixed(3)} bits/char ` +
        `(${validation.charsPerToken.toFixed(2)} characters a token)`,
    );
    expect(last('test_bits_per_char')).toBeCloseTo(last('test_loss') / Math.LN2 / validation.charsPerToken, 4);
    expect(last('test_loss')).toBeLessThan(Math.log(320) - 1); // well under a uniform guess over the vocabulary
    const gen = await fetch(`${url}/api/jobs/${id}/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ prompt: 'This License ', maxTokens: 30, seed: 3 }),
    });
    const { text } = (await gen.json()) as { text: string };
    console.log(`generated (BPE): ${JSON.stringify(`This License ${text}`)}`);
    expect(gen.status).toBe(200);
    expect(text.length).toBeGreaterThanOrEqual(30); // 30 tokens, each one or more characters
  }, 240_000);
});
