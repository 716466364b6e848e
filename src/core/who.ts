import { userInfo } from "node:os";

/** Who runs this process (the CLI, a git hook), as recorded with what it changes and in the audit log. */
export function cliUser(): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (some containers): the uid still says who.
    return `uid ${process.getuid?.() ?? "?"}`;
  }
}
