import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import { generateSW } from 'workbox-build';

/** After the build, let workbox precache the app shell so the volunteer page installs and starts offline. */
function serviceWorker(): Plugin {
  return {
    name: 'grid-service-worker',
    apply: 'build',
    async closeBundle() {
      const dist = resolve(import.meta.dirname, 'dist');
      const { count } = await generateSW({
        globDirectory: dist,
        globPatterns: ['**/*.{html,js,css,svg,webmanifest}'],
        swDest: resolve(dist, 'sw.js'),
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/api\//, /^\/ws/, /^\/metrics/, /^\/health/, /^\/console\//], // the console's addresses are the server's console.html, not the volunteer page
        // The API is live data: never serve it from the cache.
        runtimeCaching: [{ urlPattern: ({ url }) => url.pathname.startsWith('/api/'), handler: 'NetworkOnly' }],
        clientsClaim: true,
        skipWaiting: true,
        sourcemap: false,
      });
      console.log(`service worker precaches ${count} files`);
    },
  };
}

export default defineConfig({
  root: resolve(import.meta.dirname, 'web-worker-client'),
  publicDir: resolve(import.meta.dirname, 'public'),
  build: {
    outDir: resolve(import.meta.dirname, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: {
        index: resolve(import.meta.dirname, 'web-worker-client/index.html'),
        console: resolve(import.meta.dirname, 'web-worker-client/console.html'),
      },
    },
  },
  // onnxruntime-web's wasm build without its glue bundled in: the glue loads from its own file (engines.ts), so
  // the threads it starts run the glue, not the volunteer's worker script.
  resolve: { alias: [{ find: /^onnxruntime-web\/wasm$/, replacement: resolve(import.meta.dirname, 'node_modules/onnxruntime-web/dist/ort.wasm.min.mjs') }] },
  worker: { format: 'es' },
  plugins: [serviceWorker()],
  server: { fs: { allow: [import.meta.dirname] } },
});
