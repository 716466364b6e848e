import { existsSync } from "node:fs";
import { constants } from "node:os";
import { BatonError } from "../core/errors.js";
import type { EventRecord, ReleaseRecord } from "../store/store.js";
import { runCommand } from "../supervisor/command.js";
import type { ControlPlane } from "./control-plane.js";
import { releaseName } from "./paths.js";

/** `baton run` without --timeout: an hour, then SIGTERM. */
export const DEFAULT_ONE_OFF_TIMEOUT_S = 3600;
export const MAX_ONE_OFF_TIMEOUT_S = 7 * 86_400;
/** Between SIGTERM and SIGKILL: long enough to roll back a transaction and exit. */
export const ONE_OFF_GRACE_MS = 10_000;
/** The exit code of a one-off stopped by its timeout, as GNU timeout(1) reports it. */
export const TIMED_OUT_EXIT_CODE = 124;
/** Builds run at nice 10 too: a one-off must not take CPU from the instances serving users. */
const ONE_OFF_NICENESS = 10;
/** What the events keep of a command (its words, never its environment). */
const MAX_COMMAND_CHARS = 2_000;

export interface OneOffRequest {
  app: string;
  /** The Release to run; the app's live one when absent. */
  version?: number;
  /** One word: a shell command line (`/bin/sh -c`); several: a program and its arguments, run as given. */
  command: string[];
  timeoutS: number;
  by: string;
}

export interface OneOff {
  app: string;
  release: ReleaseRecord;
  command: string[];
  timeoutS: number;
  by: string;
}

export interface OneOffResult {
  run: number;
  dyno: string;
  version: number;
  /** What `baton run` exits with: the command's code, 128+n for signal n, 124 after the timeout. */
  exitCode: number;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The caller went away first and the one-off was stopped. */
  abandoned: boolean;
  durationMs: number;
}

/** Every one-off running in this server: stopped (SIGTERM to its group) if the server exits. */
const live = new Set<AbortController>();
let exitHookInstalled = false;

/**
 * The Release a one-off would run in, checked before anything starts (so the API can still answer
 * with an error code): the app, the release, and its files on disk.
 */
export function resolveOneOff(plane: Pick<ControlPlane, "store">, request: OneOffRequest): OneOff {
  const { store } = plane;
  const app = store.getApp(request.app);
  if (app === undefined)
    throw new BatonError("BATON_NOT_FOUND", `app "${request.app}" does not exist`, {
      hint: "`baton apps` lists the apps",
    });
  const version = request.version ?? app.currentVersion;
  if (version === null)
    throw new BatonError("BATON_NOT_FOUND", `app "${app.name}" has no live release to run a one-off in`, {
      hint: `deploy it first: baton deploy DIR --app ${app.name} (or git push)`,
    });
  const release = store.getRelease(app.name, version);
  if (release === undefined)
    throw new BatonError("BATON_NOT_FOUND", `app "${app.name}" has no release ${releaseName(version)}`, {
      hint: `\`baton releases --app ${app.name}\` lists them`,
    });
  if (release.status === "pending" || release.pruned || !existsSync(release.path))
    throw new BatonError(
      "BATON_NOT_FOUND",
      `release ${releaseName(version)} of ${app.name} has no files to run: ${
        release.status === "pending" ? "it is still being built" : "they were pruned (only the last releases are kept)"
      }`,
      { hint: `\`baton releases --app ${app.name}\` lists them; run in the live one by leaving out --release` },
    );
  return { app: app.name, release, command: request.command, timeoutS: request.timeoutS, by: request.by };
}

/**
 * Run a one-off process (`baton run`) in the Release's directory with its environment, in its own
 * process group at nice 10, and record run.started / run.finished. It ends with the command, or
 * its timeout (SIGTERM, SIGKILL 10 s later), or `signal` (the caller went away), whichever comes
 * first; nothing it started is left running.
 */
export async function runOneOff(
  plane: Pick<ControlPlane, "store" | "events" | "releaseEnv" | "appUser">,
  oneOff: OneOff,
  hooks: {
    onStarted: (event: EventRecord) => void;
    onOutput: (chunk: string, stream: "stdout" | "stderr") => void;
    signal: AbortSignal;
  },
): Promise<{ result: OneOffResult; finished: EventRecord }> {
  const { app, release, command } = oneOff;
  const run = nextRunNumber(plane, app);
  const dyno = `run.${run}`;
  const shown = displayCommand(command).slice(0, MAX_COMMAND_CHARS);
  const env = plane.releaseEnv(app, release.version, dyno);
  // Nothing routes to a one-off: no PORT, even if the server's own environment had one.
  delete env.PORT;
  const started = plane.events.emit(app, null, "run.started", `${oneOff.by} ran \`${shown}\` as ${dyno}`, {
    run,
    dyno,
    version: release.version,
    command: shown,
    by: oneOff.by,
    timeoutS: oneOff.timeoutS,
  });
  hooks.onStarted(started);
  const stop = new AbortController();
  const abandon = (): void => stop.abort();
  hooks.signal.addEventListener("abort", abandon, { once: true });
  if (hooks.signal.aborted) stop.abort();
  // apps:destroy stops everything of the app, its one-offs too.
  let destroyed = false;
  const unsubscribe = plane.events.subscribe((event) => {
    if (event.app !== app || event.kind !== "app.destroyed") return;
    destroyed = true;
    stop.abort();
  });
  installExitHook();
  live.add(stop);
  let outcome: Awaited<ReturnType<typeof runCommand>>;
  try {
    outcome = await runCommand({
      command: shellCommand(command),
      cwd: release.path,
      env,
      timeoutMs: oneOff.timeoutS * 1000,
      signal: stop.signal,
      niceness: ONE_OFF_NICENESS,
      graceMs: ONE_OFF_GRACE_MS,
      reapGroup: true,
      onOutput: hooks.onOutput,
      user: plane.appUser,
    });
  } finally {
    live.delete(stop);
    unsubscribe();
    hooks.signal.removeEventListener("abort", abandon);
  }
  const abandoned = hooks.signal.aborted;
  const exitCode = outcome.timedOut ? TIMED_OUT_EXIT_CODE : exitCodeOf(outcome.code, outcome.signal);
  const result: OneOffResult = {
    run,
    dyno,
    version: release.version,
    exitCode,
    signal: outcome.signal,
    timedOut: outcome.timedOut,
    abandoned,
    durationMs: outcome.ms,
  };
  const how = outcome.timedOut
    ? `stopped after its ${oneOff.timeoutS} s timeout`
    : destroyed
      ? "stopped: the app was destroyed"
      : abandoned
        ? "stopped: the caller went away"
        : `exited with ${exitCode}`;
  const finished = plane.events.emit(app, null, "run.finished", `${dyno} (\`${shown}\`) ${how}`, {
    ...result,
    command: shown,
    by: oneOff.by,
  });
  return { result, finished };
}

/** The words as given (a program and its arguments), or one word as a shell command line. */
export function shellCommand(command: string[]): string {
  if (command.length === 1) return command[0] ?? "";
  // `exec` so the program is the group leader whose status and signal we report, not the shell.
  return `exec ${command.map(shellQuote).join(" ")}`;
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function displayCommand(command: string[]): string {
  return command.length === 1 ? (command[0] ?? "") : command.map(shellQuote).join(" ");
}

/** The shell's convention: the code itself, or 128+n when signal n ended it. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal === null ? undefined : constants.signals[signal];
  return n === undefined ? 1 : 128 + n;
}

/** run.N counts up per app, across restarts (the last run.started event says where it got to). */
function nextRunNumber(plane: Pick<ControlPlane, "store">, app: string): number {
  const [last] = plane.store.listEvents({ app, kinds: ["run.started"], limit: 1, newest: true });
  const n = last?.data.run;
  return typeof n === "number" && Number.isInteger(n) ? n + 1 : 1;
}

/**
 * A server that exits (shutdown, Ctrl-C, a crash it can report) takes its one-offs with it: the
 * abort sends SIGTERM to each group at once. A SIGKILLed server cannot; its callers see the
 * connection drop.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const stop of live) stop.abort();
  });
}
