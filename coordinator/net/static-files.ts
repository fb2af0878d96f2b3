import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { decodePathPart, type Reply } from './http';

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

// Cross-origin isolation lets the volunteer page use SharedArrayBuffer (onnxruntime-web's threaded wasm); the CSP
// allows only this origin's scripts, workers and sockets (and WebAssembly compilation, which the engines need).
const PAGE_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/**
 * Serve files under `roots` (first match wins); paths cannot escape their root. Bodies are cached per resolved
 * file, never per spelling of the URL, so the cache is bounded by the files on disk.
 */
export function staticFiles(roots: { prefix: string; dir: string }[]) {
  const cache = new Map<string, Reply>();
  const lookup = (urlPath: string): Reply | undefined => {
    for (const { prefix, dir } of roots) {
      if (!urlPath.startsWith(prefix)) continue;
      let rel = normalize(decodePathPart(urlPath.slice(prefix.length))).replace(/^(\.\.[/\\])+/, '');
      if (rel === '' || rel === '.' || rel.endsWith('/')) rel = join(rel, 'index.html');
      const file = resolve(dir, rel);
      if (!file.startsWith(resolve(dir) + sep)) continue;
      const hit = cache.get(file);
      if (hit) return hit;
      if (!existsSync(file) || !statSync(file).isFile()) continue;
      const immutable = rel.startsWith('assets/');
      const reply: Reply = {
        body: readFileSync(file),
        type: TYPES[extname(file)] ?? 'application/octet-stream',
        headers: { ...PAGE_HEADERS, 'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache' },
      };
      cache.set(file, reply);
      return reply;
    }
    return undefined;
  };
  return Object.assign(lookup, { cachedFiles: () => cache.size });
}
