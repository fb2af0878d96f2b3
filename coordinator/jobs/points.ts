/**
 * Credit by work, as BOINC grants it by cost rather than by count: one point per GFLOP of a result that stood. A
 * kind says what one sample of a shard costs (training about 6 FLOPs per parameter per step: forward 2, backward 4;
 * inference 2), so a shard of a big model is worth more than one of a small one.
 */
export const FLOPS_PER_POINT = 1e9;

export const pointsFor = (samples: number, flopsPerSample: number) => (samples * flopsPerSample) / FLOPS_PER_POINT;

/** Points a day, averaged over the last week: BOINC's recent average credit, over a plain window instead of a decay. */
export const RECENT_DAYS = 7;
