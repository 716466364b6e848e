import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Whether `given` is the server's token (`<home>/token`), for every door that takes it: the API's
 * bearer token and the git port's Basic password. Both sides are hashed first, so the comparison
 * takes the same time whatever the given value's length and wherever it differs.
 */
export function isServerToken(given: string, token: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return given !== "" && timingSafeEqual(digest(given), digest(token));
}
