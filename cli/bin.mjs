#!/usr/bin/env node
// Entry for `npx grid`: run the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('./grid.ts');
