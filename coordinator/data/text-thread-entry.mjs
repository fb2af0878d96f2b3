// Worker-thread entry: threads do not take `--import tsx`, so register tsx here, then run the TypeScript builder.
import { register } from 'tsx/esm/api';

register();
await import('./text-thread.ts');
