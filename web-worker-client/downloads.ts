type Api = <T>(path: string, init?: RequestInit) => Promise<T>;

/** Fetch a file with the token in a header (never in a URL), then save it from memory under `filename`. */
export async function saveWithToken(token: string, path: string, filename: string) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${filename}: ${res.status}`);
  const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(await res.blob()), download: filename });
  a.click();
  URL.revokeObjectURL(a.href);
}

/** Where a job's latest checkpoint (safetensors) or model (ONNX) is, and the file name to save it under. */
export async function latestCheckpoint(api: Api, id: number, what: 'checkpoint' | 'onnx') {
  const last = (await api<{ round: number }[]>(`/api/jobs/${id}/checkpoints`)).at(-1);
  if (!last) throw new Error(`job ${id} has no checkpoint yet`);
  return {
    path: `/api/jobs/${id}/checkpoints/${last.round}${what === 'onnx' ? '/model.onnx' : ''}`,
    filename: `job-${id}-round-${last.round}.${what === 'onnx' ? 'onnx' : 'safetensors'}`,
  };
}
