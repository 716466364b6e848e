/**
 * Failpoints exist for fault tests only (test/server-kill-e2e.test.ts, docs/reliability.md): they
 * let a test kill the control plane at an exact point of a deploy that is too short to hit from
 * outside, such as the instant between the router's swap and the store recording it. Each is a
 * no-op unless BATON_FAILPOINT named it when the server started; builds, release commands and
 * instances never see the variable (the server passes no BATON_* variable on).
 */
export type Failpoint =
  /** In the stage step: the Release row exists, the deploy does not name it yet. */
  | "after-release-created"
  /** In the switch step: the new instances are proven, the router still routes to the old Pool. */
  | "before-switch"
  /** In the switch step: the router routes to the new Pool, the store still names the old Release. */
  | "after-switch-before-record";

/** Read once, at start: a failpoint cannot be armed in a server that is already running. */
const armed = new Set((process.env.BATON_FAILPOINT ?? "").split(",").filter((name) => name !== ""));

/** The control plane dies here, as from `kill -9`, when the test armed this point. */
export function failpoint(name: Failpoint): void {
  if (armed.has(name)) process.kill(process.pid, "SIGKILL");
}
