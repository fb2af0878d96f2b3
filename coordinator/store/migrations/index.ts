import type { Migration } from 'kysely';
import * as initial from './20261122T160000_initial';
import * as ownership from './20261123T190000_ownership';
import * as fencing from './20261123T200000_fencing';
import * as models from './20261123T230000_models';
import * as inference from './20261124T000000_inference';
import * as transfer from './20261124T010000_transfer';
import * as standing from './20261204T150000_standing';
import * as points from './20261204T220000_points';
import * as teams from './20261204T223000_teams';
import * as datasetFiles from './20261205T000000_dataset_files';
import * as textSamples from './20261205T210000_text_samples';
import * as idBlocks from './20261206T030000_id_blocks';

/** Every migration, keyed by its timestamped name; Kysely runs them in name order. */
export const migrations: Record<string, Migration> = {
  '20261122T160000_initial': initial,
  '20261123T190000_ownership': ownership,
  '20261123T200000_fencing': fencing,
  '20261123T230000_models': models,
  '20261124T000000_inference': inference,
  '20261124T010000_transfer': transfer,
  '20261204T150000_standing': standing,
  '20261204T220000_points': points,
  '20261204T223000_teams': teams,
  '20261205T000000_dataset_files': datasetFiles,
  '20261205T210000_text_samples': textSamples,
  '20261206T030000_id_blocks': idBlocks,
};
