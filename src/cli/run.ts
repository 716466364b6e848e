import { BatonError } from "../core/errors.js";
import { cliUser } from "../core/who.js";
import type { EventRecord } from "../store/store.js";
import { intOption, parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, requireApp } from "./common.js";

export const summary = "run a one-off process with a release's code and config (like heroku run)";

export const usage = `baton run --app NAME [--release vN] [--timeout SECONDS] [--home DIR] [--json] -- CMD [ARGS...]

Runs CMD on the server's host in the live release's directory (or vN's) with that release's
environment, as its instances get it (config vars, BATON_APP, BATON_RELEASE), DYNO=run.N and no
PORT (nothing routes to a one-off). Several words run as given (no shell); one word is a shell
command line: \`baton run -- 'echo $BATON_RELEASE && ls'\`. It runs in its own process group at
nice 10 and prints its stdout and stderr here as they come; baton exits with its exit code
(128+n when signal n ended it).

Not interactive: CMD gets no stdin (no console, no shell prompt). --timeout (default 3600)
stops it with SIGTERM, then SIGKILL 10 s later, and exits 124. Ctrl-C, or this command going
away, stops it the same way: a one-off never outlives its caller. A locked app (apps:lock) still
runs one-offs. Each run is recorded as run.started / run.finished events (who, the command,
the exit code, the duration). --json prints NDJSON: {"stream": "stdout", "text": "..."} lines,
then {"result": {...}}.`;

interface RunResult {
  run: number;
  dyno: string;
  version: number;
  exitCode: number;
  signal: string | null;
  timedOut: boolean;
  abandoned: boolean;
  durationMs: number;
}

export async function run(argv: string[]): Promise<number> {
  // Options stop at `--`: what follows is the command, its own options included.
  const dashes = argv.indexOf("--");
  const { values, positionals } = parse(
    dashes < 0 ? argv : argv.slice(0, dashes),
    { ...COMMON_OPTIONS, ...APP_OPTION, release: { type: "string", short: "r" }, timeout: { type: "string" } },
    true,
  );
  const app = requireApp(values.app);
  const command = [...positionals, ...(dashes < 0 ? [] : argv.slice(dashes + 1))];
  if (command.length === 0 || command[0] === "")
    throw new BatonError("BATON_USAGE", "baton run needs a command", { hint: usage.split("\n")[0] });
  let version: number | undefined;
  if (values.release !== undefined) {
    const match = /^v?(\d+)$/.exec(values.release);
    if (match === null || Number(match[1]) < 1)
      throw new BatonError("BATON_USAGE", `--release takes a release like v3, got "${values.release}"`);
    version = Number(match[1]);
  }
  const timeoutS = intOption(values.timeout, "timeout");
  if (timeoutS === 0) throw new BatonError("BATON_USAGE", "--timeout must be at least 1 second");
  const json = values.json === true;
  const body = {
    command,
    by: cliUser(),
    ...(version === undefined ? {} : { version }),
    ...(timeoutS === undefined ? {} : { timeoutS }),
  };
  let started = false;
  const onEvent = (event: EventRecord): void => {
    if (event.kind === "run.started") started = true;
    if (event.kind !== "run.output") return;
    const stream = event.data.stream === "stderr" ? "stderr" : "stdout";
    if (json) process.stdout.write(`${JSON.stringify({ stream, text: event.message })}\n`);
    else (stream === "stderr" ? process.stderr : process.stdout).write(event.message);
  };
  let result: RunResult;
  try {
    result = (await client(values.home).stream(
      "POST",
      `/v1/apps/${encodeURIComponent(app)}/runs`,
      body,
      onEvent,
    )) as unknown as RunResult;
  } catch (error) {
    if (started && error instanceof BatonError && error.code === "BATON_SERVER_UNREACHABLE")
      throw new BatonError("BATON_SERVER_UNREACHABLE", "the server went away while the one-off ran", {
        cause: error,
        hint: "a server that exits stops its one-offs; `baton logs --app NAME` and the run.* events tell how far it got",
      });
    throw error;
  }
  if (json) process.stdout.write(`${JSON.stringify({ result })}\n`);
  else if (result.timedOut)
    process.stderr.write(`baton: ${result.dyno} was stopped after its timeout (exit ${result.exitCode})\n`);
  return result.exitCode;
}
