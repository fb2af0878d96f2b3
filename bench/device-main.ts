// Entry point scripts/device-pack.sh bundles: the device benchmark alone, for a machine without npm.
import { benchDevice } from './device';

await benchDevice();
process.exit(0);
