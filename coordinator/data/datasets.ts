import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gunzipSync } from 'node:zlib';
import { buildChunks, CHUNK_SAMPLES, type DatasetManifest, targetsOf } from '../../protocol/dataset';
import { sizeOf } from '../../protocol/model';
import { CLASS_U8, readTarget, type Targets, targetBytes } from '../../protocol/targets';

/** A data set held in memory as content-hashed chunks: targets then features, per chunk. */
export interface LoadedDataset {
  manifest: DatasetManifest;
  /** Every sample's targets, encoded as chunks hold them (one u8 class per sample unless the manifest says otherwise). */
  labels: Uint8Array;
  /** Row-major features: u8 pixels or f32 values, `featureSize` per sample. */
  features: Uint8Array | Float32Array;
  chunks: Buffer[];
}

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

type Idx = { dims: number[]; data: Uint8Array };

const readIdx = (path: string): Idx => parseIdx(path, gunzipSync(readFileSync(path)));
/** Unpacked on libuv's threads: the event loop stays free for the 0.5 s Fashion-MNIST's training images take. */
const readIdxOffLoop = async (path: string): Promise<Idx> => parseIdx(path, await promisify(gunzip)(await readFile(path)));

function parseIdx(path: string, raw: Buffer): Idx {
  const magic = raw.readUInt32BE(0);
  if (magic >> 8 !== 0x08) throw new Error(`${path}: IDX type ${(magic >> 8).toString(16)} is not unsigned byte`);
  const ndim = magic & 0xff;
  const dims = Array.from({ length: ndim }, (_, i) => raw.readUInt32BE(4 + 4 * i));
  return { dims, data: new Uint8Array(raw.buffer, raw.byteOffset + 4 + 4 * ndim, sizeOf(dims)) };
}

export function buildDataset(
  name: string,
  split: string,
  labels: Uint8Array,
  features: Uint8Array | Float32Array,
  featureShape: number[],
  classes: number,
  targets: Targets = CLASS_U8,
  extra: Pick<DatasetManifest, 'tokenizer' | 'charsPerToken'> & { featureScale?: number } = {},
): LoadedDataset {
  const stride = targetBytes(targets);
  const samples = labels.length / stride;
  const chunks = buildChunks(labels, features, sizeOf(featureShape), CHUNK_SAMPLES, stride).map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  const f32 = features instanceof Float32Array;
  const manifest: DatasetManifest = {
    name,
    split,
    samples,
    featureShape,
    featureDtype: f32 ? 'f32' : 'u8',
    featureScale: extra.featureScale ?? (f32 ? 1 : 1 / 255),
    classes,
    ...(targets === CLASS_U8 ? {} : { targets }),
    ...(extra.tokenizer && { tokenizer: extra.tokenizer }),
    ...(extra.charsPerToken && { charsPerToken: extra.charsPerToken }),
    chunkSize: CHUNK_SAMPLES,
    chunks: chunks.map((c, index) => ({
      index,
      samples: Math.min(CHUNK_SAMPLES, samples - index * CHUNK_SAMPLES),
      bytes: c.length,
      sha256: createHash('sha256').update(c).digest('hex'),
    })),
  };
  return { manifest, labels, features, chunks };
}

/** Each sample's class, for a data set of classes (undefined for target vectors). */
export function classLabels(ds: LoadedDataset): Uint32Array | undefined {
  const t = targetsOf(ds.manifest);
  if (t.kind !== 'class') return undefined;
  return Uint32Array.from({ length: ds.manifest.samples }, (_, i) => readTarget(ds.labels, i * targetBytes(t), 0, t));
}

export const fashionMnistAvailable = (split: 'train' | 'test', dir = FASHION_MNIST_DIR) =>
  existsSync(join(dir, `${split === 'train' ? 'train' : 't10k'}-images-idx3-ubyte.gz`));

/** Fashion-MNIST from Debian's dataset-fashion-mnist package (IDX, gzip). */
export function loadFashionMnist(split: 'train' | 'test', dir = FASHION_MNIST_DIR): LoadedDataset {
  const files = fashionMnistFiles(split, dir);
  return fashionMnist(split, readIdx(files.images), readIdx(files.labels));
}

/** `loadFashionMnist`, unpacked off the event loop. */
export async function loadFashionMnistOffLoop(split: 'train' | 'test', dir = FASHION_MNIST_DIR): Promise<LoadedDataset> {
  const files = fashionMnistFiles(split, dir);
  const [x, y] = await Promise.all([readIdxOffLoop(files.images), readIdxOffLoop(files.labels)]);
  return fashionMnist(split, x, y);
}

function fashionMnistFiles(split: 'train' | 'test', dir: string) {
  const prefix = split === 'train' ? 'train' : 't10k';
  const images = join(dir, `${prefix}-images-idx3-ubyte.gz`);
  if (!existsSync(images)) throw new Error(`${images} is missing: apt-get install dataset-fashion-mnist`);
  return { images, labels: join(dir, `${prefix}-labels-idx1-ubyte.gz`) };
}

function fashionMnist(split: 'train' | 'test', x: Idx, y: Idx): LoadedDataset {
  if (x.dims[0] !== y.dims[0]) throw new Error('Fashion-MNIST images and labels disagree on sample count');
  return buildDataset('fashion-mnist', split, y.data, x.data, [1, x.dims[1], x.dims[2]], 10);
}

/** CSV upload: one sample per line, numeric features, the last column an integer class label. */
