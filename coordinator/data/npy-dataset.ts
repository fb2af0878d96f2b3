// Data sets from numpy `.npy` uploads: inputs [samples, ...features], and optionally their targets in a second file.
import { GridError } from '../../protocol/errors';
import { decodeNpy } from '../../protocol/npy';
import { encodeTargets, MAX_CLASSES, MAX_TARGET_WIDTH, type Targets } from '../../protocol/targets';
import { buildDataset, type LoadedDataset } from './datasets';

const bad = (msg: string) => new GridError('BAD_REQUEST', msg);

/** An `.npy` of shape [samples, ...features] as a data set: without labels (inference inputs), or with `targets`. */
export function npyDataset(name: string, split: string, bytes: Uint8Array, targets?: Uint8Array, kind?: Targets['kind']): LoadedDataset {
  const a = decodeNpy(bytes);
  if (a.shape.length < 2 || a.shape[0] < 1) throw bad(`.npy of shape [${a.shape}]: expected [samples, features...]`);
  if (a.shape[0] > 1 << 24) throw bad(`${a.shape[0]} samples is more than a data set may hold`);
  if (!targets) return buildDataset(name, split, new Uint8Array(a.shape[0]), a.values, a.shape.slice(1), 0);
  const t = npyTargets(targets, kind ?? 'class', a.shape[0]);
  return buildDataset(name, split, encodeTargets(t.values, t.targets), a.values, a.shape.slice(1), t.classes, t.targets);
}

/**
 * A targets `.npy` for `samples` samples: classes [samples] (whole numbers 0..65535, u8 up to 256 classes), 0/1
 * labels [samples, width] (multi-label), or finite values [samples] or [samples, width] (regression).
 */
export function npyTargets(bytes: Uint8Array, kind: Targets['kind'], samples: number) {
  const a = decodeNpy(bytes);
  if (a.shape[0] !== samples) throw bad(`targets .npy has ${a.shape[0]} rows; the inputs have ${samples} samples`);
  if (a.shape.length > 2) throw bad(`targets .npy of shape [${a.shape}]: expected [samples] or [samples, width]`);
  const width = a.shape[1] ?? 1;
  if (width < 1 || width > MAX_TARGET_WIDTH) throw bad(`targets .npy has ${width} columns; 1..${MAX_TARGET_WIDTH}`);
  const at = (i: number) => `targets .npy value ${i} (${a.values[i]})`;
  if (kind === 'class') {
    if (width !== 1) throw bad(`class targets are one per sample: shape [${samples}], not [${a.shape}]`);
    a.values.forEach((v, i) => {
      if (!Number.isInteger(v) || v < 0 || v >= MAX_CLASSES) throw bad(`${at(i)} is not a class 0..${MAX_CLASSES - 1}`);
    });
    const classes = Math.max(2, a.values.reduce((m, v) => Math.max(m, v), 0) + 1); // as a CSV's: at least two
    return { values: a.values, classes, targets: { kind, width: 1, dtype: classes > 256 ? 'u16' : 'u8' } satisfies Targets };
  }
  a.values.forEach((v, i) => {
    if (kind === 'multi-label' ? v !== 0 && v !== 1 : !Number.isFinite(v)) throw bad(`${at(i)} ${kind === 'multi-label' ? 'is not 0 or 1' : 'is not finite'}`);
  });
  const targets: Targets = { kind, width, dtype: kind === 'multi-label' ? 'u8' : 'f32' };
  return { values: a.values, classes: kind === 'regression' ? 0 : width, targets }; // counted as a CSV's are
}
