import { createRequire } from 'node:module';
import type * as UWS from '@trufflesuite/uws-js-unofficial';

const require = createRequire(import.meta.url);

/**
 * Load uWebSockets.js. The npm build silently falls back to the `ws` library when its binary does not load,
 * so check that the native binding is the one in use.
 */
export function loadUws(): { uws: typeof UWS; native: boolean } {
  const uws = require('@trufflesuite/uws-js-unofficial') as typeof UWS;
  const native = String(uws.App).includes('[native code]');
  return { uws, native };
}

export type { UWS };
