import { intOption, parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, requireApp } from "./common.js";

export const summary = "show an app's instance and deploy logs (-f to follow)";

export const usage = `baton logs --app NAME [-f] [-n LINES] [--home DIR]

Prints the last LINES (default 100) of the latest deploy's log and of every running instance's
log, each line prefixed with its source (baton[deploy.N], app[web.1] ...). -f keeps following
until interrupted. --json prints one JSON object per line: {"source": "app[web.1]", "line": "..."}.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...COMMON_OPTIONS,
    ...APP_OPTION,
    follow: { type: "boolean", short: "f" },
    lines: { type: "string", short: "n" },
  });
  const app = requireApp(values.app);
  const lines = intOption(values.lines, "lines") ?? 100;
  const stop = new AbortController();
  const interrupt = (): void => stop.abort();
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    await client(values.home).text(
      `/v1/apps/${encodeURIComponent(app)}/logs?lines=${lines}${values.follow ? "&follow=1" : ""}`,
      (text) => process.stdout.write(text),
      stop.signal,
    );
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
  }
  return 0;
}
