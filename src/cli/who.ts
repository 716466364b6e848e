import { userInfo } from "node:os";

/** Who runs this command, as recorded with what it changes (a lock, maintenance, a destroy). */
export function cliUser(): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (some containers): the uid still says who.
    return `uid ${process.getuid?.() ?? "?"}`;
  }
}
