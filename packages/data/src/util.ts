import { SslError } from '@ssl/core';

/** Checks a user-given `limit` (an integer ≥ 1) and returns it; internal, not re-exported. */
export function checkLimit(limit: number | undefined, what: string): number | undefined {
  if (limit === undefined) return undefined;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new SslError(`${what}: limit ${limit} is not allowed; it must be a whole number ≥ 1 (or omitted for all examples).`);
  }
  return limit;
}
