import { resolve } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TierReport } from '../kernels/testing/gpu-tier';
import { launchChromium } from './browser';

// Third tier: the same kernel cases and model checks in headless Chromium's WebGPU (SwiftShader here).
describe('kernel tier: WebGPU in headless Chromium', () => {
  let server: ViteDevServer;
  let browser: Browser;
  let report: TierReport;
  let onnxReport: Record<string, { gradients: number; loss: number; correct: number; logits: number; local: number; error?: string }>;

  beforeAll(async () => {
    server = await createServer({ configFile: false, root: resolve(import.meta.dirname, '..'), logLevel: 'error', server: { port: 0, host: '127.0.0.1' } });
    await server.listen();
    const { port } = server.httpServer!.address() as { port: number };
    browser = await launchChromium();
    const page = await browser.newPage();
    page.on('console', (m) => m.type() === 'error' && console.error(`page: ${m.text()}`));
    await page.goto(`http://127.0.0.1:${port}/test/browser/kernels.html`);
    await page.waitForFunction('window.ready === true', { timeout: 60_000 });
    report = (await page.evaluate('window.runTier()')) as TierReport;
    onnxReport = (await page.evaluate('window.runOnnxTier()')) as typeof onnxReport;
    console.log(`kernel tier: Chromium WebGPU, adapter "${report.adapter}"${report.software ? ' (software)' : ''}`);
  }, 600_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('found a WebGPU adapter', () => expect(report.adapter).toMatch(/\w/));
  for (const variant of ['register', 'tiled']) {
    it(`every kernel case passes with the ${variant} matmul`, () => {
      expect(report.cases[variant].filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`)).toEqual([]);
      expect(report.cases[variant].length).toBeGreaterThan(20);
    });
  }
  it('onnxruntime-web matches the CPU reference on every model, on wasm and on webgpu', () => {
    for (const [name, r] of Object.entries(onnxReport)) console.log(`${name}: ${r.error ?? `gradients ${r.gradients.toExponential(1)}`}`);
    for (const [name, r] of Object.entries(onnxReport)) {
      expect(r.error, name).toBeUndefined();
      expect(r.gradients, name).toBeLessThan(1e-4);
      expect(r.logits, name).toBeLessThan(1e-4);
      // A GPU's summation order can flip a near-tie between two logits: one sample either way, no more.
      expect(Math.abs(r.correct), name).toBeLessThanOrEqual(name.startsWith('webgpu') ? 1 : 0);
    }
  });

  it('model gradients match the CPU reference', () => {
    for (const [name, m] of Object.entries(report.models)) {
      expect(m.gradError, name).toBeLessThan(1e-3);
      expect(m.lossError, name).toBeLessThan(1e-4);
    }
  });
});
