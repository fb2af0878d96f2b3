import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

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
