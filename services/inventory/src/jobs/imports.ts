import type { Imports, JobDefinition } from '@allot/kit';
import { importSlice } from '../job-kinds';

/** Bulk imports run as durable jobs: a crashed run is taken over, and one that runs out of attempts fails its import. */
export const importJobs = (imports: Imports): JobDefinition =>
  importSlice.handle((slice) => imports.run(slice), { concurrency: 2, onGiveUp: (slice, { error }) => imports.giveUp(slice, error) });
