import { ErrorCode, RastError } from '../errors.js';

/** Repair: damage it could not mend. */

export function repairIncomplete(unrepairable: number, repaired: number, dryRun: boolean, first: string, report: unknown): RastError {
  return new RastError(
    ErrorCode.REPAIR_INCOMPLETE,
    `${unrepairable} problem${unrepairable === 1 ? '' : 's'} cannot be repaired${repaired > 0 ? ` (${repaired} ${dryRun ? 'would be' : 'were'} repaired)` : ''}, first: ${first}`,
    { report },
  );
}

/** A backup's file index cannot be rebuilt from its stream, or stored again: `reason` says why. */
export function indexNotRebuilt(backup: string, reason: string): RastError {
  return new RastError(ErrorCode.REPAIR_INCOMPLETE, `backup ${backup}: ${reason}`, { backup });
}
