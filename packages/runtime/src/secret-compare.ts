// Comparing a presented secret (an admin token, a contract-feed token, a login code) with the
// expected one in constant time, so response timing does not reveal how much of a guess was right.

import { timingSafeEqual } from 'node:crypto';

export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // timingSafeEqual needs equal lengths; a length mismatch says only the length was wrong.
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether an Authorization header is `Bearer <token>`. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  return sameSecret(header ?? '', `Bearer ${token}`);
}
