// Piscina thread entry: threads do not take `--import tsx`, so register tsx here, then load the TypeScript task.
import { register } from 'tsx/esm/api';

register();
const { default: checkModel } = await import('./check-thread.ts');
export default checkModel;
