import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/lib/chromium/chromium', '/usr/bin/chromium'].filter(Boolean) as string[];

/** Debian's Chromium, headless, with WebGPU on (SwiftShader without a GPU). */
export async function launchChromium(): Promise<Browser> {
  const executablePath = CANDIDATES.find((p) => existsSync(p));
  if (!executablePath) throw new Error('Chromium not found: run .ci/run (apt-get install chromium)');
  return puppeteer.launch({
    executablePath,
    headless: true,
    protocolTimeout: 600_000,
    args: [
      '--no-sandbox',
      '--enable-unsafe-webgpu',
      `--user-data-dir=${mkdtempSync(join(tmpdir(), 'grid-chromium-'))}`,
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
type AxeResults = { violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[] };
declare const axe: { run(o: object): Promise<AxeResults> };

/** The serious and critical accessibility violations axe-core finds on the page as it is now (shadow roots included). */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.evaluate(readFileSync(AXE, 'utf8')); // through DevTools: the page's CSP allows no injected scripts
  const found = await page.evaluate(() => axe.run({ resultTypes: ['violations'] }));
  return found.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
