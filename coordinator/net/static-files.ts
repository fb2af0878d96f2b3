import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import type { Reply } from './http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
};

// Cross-origin isolation lets the volunteer page use SharedArrayBuffer (onnxruntime-web's threaded wasm).
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin' };

/** Serve files under `roots` (first match wins), cached in memory; paths cannot escape their root. */
export function staticFiles(roots: { prefix: string; dir: string }[]) {
  const cache = new Map<string, Reply>();
  return (urlPath: string): Reply | undefined => {
    const hit = cache.get(urlPath);
    if (hit) return hit;
    for (const { prefix, dir } of roots) {
      if (!urlPath.startsWith(prefix)) continue;
      let rel = normalize(decodeURIComponent(urlPath.slice(prefix.length))).replace(/^(\.\.[/\\])+/, '');
      if (rel === '' || rel === '.' || rel.endsWith('/')) rel = join(rel, 'index.html');
      const file = join(dir, rel);
      if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) continue;
      const immutable = rel.startsWith('assets/');
      const reply: Reply = {
        body: readFileSync(file),
        type: TYPES[extname(file)] ?? 'application/octet-stream',
        headers: { ...ISOLATION, 'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache' },
      };
      cache.set(urlPath, reply);
      return reply;
    }
    return undefined;
  };
}
