import type { AppLive } from "../api/traffic-routes.js";
import { BatonError } from "../core/errors.js";
import { intOption, parse } from "./args.js";
import { COMMON_OPTIONS, client, printJson } from "./common.js";
import { renderTable } from "./table.js";

export const summary = "live requests, errors, p99 and traffic split per app and release, in the terminal";

export const usage = `baton top [--app NAME] [--interval SECONDS] [--once] [--json] [--home DIR]

The dashboard's live numbers for people on SSH: for each app (or --app), each release serving it
with its requests per second, 5xx, upstream errors, p99 and in-flight requests over the last
second, its share of the app's requests and the canary weight; held requests; the deploy in
progress. Redraws every --interval seconds (default 1) until Ctrl-C; --once prints one screen and
exits. --json prints the server's numbers (GET /v1/traffic): one object with --once, else one
line per interval.`;

interface TrafficView {
  time: number | null;
  intervalMs: number | null;
  apps: AppLive[];
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...COMMON_OPTIONS,
    app: { type: "string", short: "a" },
    interval: { type: "string" },
    once: { type: "boolean" },
  });
  const seconds = intOption(values.interval, "interval") ?? 1;
  if (seconds < 1) throw new BatonError("BATON_USAGE", "--interval is whole seconds, at least 1");
  const api = client(values.home);
  const read = async (): Promise<TrafficView> => {
    const view = await api.get<TrafficView>("/v1/traffic", 10_000);
    if (values.app === undefined) return view;
    const apps = view.apps.filter((a) => a.app === values.app);
    if (apps.length === 0) throw new BatonError("BATON_NOT_FOUND", `app "${values.app}" does not exist`);
    return { ...view, apps };
  };
  const tty = process.stdout.isTTY === true && values.json !== true;
  const show = (view: TrafficView): void => {
    if (values.json) {
      if (values.once) printJson(view);
      else process.stdout.write(`${JSON.stringify(view)}\n`);
      return;
    }
    // On a terminal, redraw in place (clear and home); piped, one screen after another.
    process.stdout.write(`${tty ? "\x1b[H\x1b[2J" : ""}${screen(view)}\n`);
  };
  show(await read());
  if (values.once) return 0;
  const stop = new AbortController();
  const quit = (): void => stop.abort();
  process.once("SIGINT", quit);
  process.once("SIGTERM", quit);
  while (!stop.signal.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, seconds * 1000);
      stop.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (!stop.signal.aborted) show(await read());
  }
  return 0;
}

/** One screen: a header, then a row per app and release. */
export function screen(view: TrafficView): string {
  const when =
    view.time === null ? "waiting for the router's first counts" : new Date(view.time).toTimeString().slice(0, 8);
  const rows: string[][] = [];
  const deploys: string[] = [];
  for (const app of view.apps) {
    const total = app.releases.reduce((n, r) => n + r.requests, 0);
    const releases = app.releases.length === 0 ? [undefined] : app.releases;
    releases.forEach((r, i) => {
      const role =
        r === undefined
          ? ""
          : app.canary?.release === r.release
            ? ` (canary ${app.canary.weight}%)`
            : app.active === r.release
              ? ""
              : " (draining)";
      rows.push([
        i === 0 ? app.app : "",
        r === undefined ? (app.currentVersion === null ? "-" : `v${app.currentVersion}`) : `${r.release}${role}`,
        r === undefined || total === 0 ? "-" : `${Math.round((1000 * r.requests) / total) / 10}%`,
        r === undefined ? "0" : r.rps.toFixed(1),
        r === undefined ? "0" : String(r.errors5xx),
        r === undefined ? "0" : String(r.upstreamErrors),
        r?.p99Ms === null || r === undefined ? "-" : r.p99Ms.toFixed(1),
        r === undefined ? "0" : String(r.inFlight),
        i === 0 ? `${app.heldNow}${app.holdTimeouts > 0 ? ` (${app.holdTimeouts} timed out)` : ""}` : "",
      ]);
    });
    if (app.deploy !== null) {
      const d = app.deploy;
      deploys.push(
        `${app.app}: ${d.kind} ${d.id}${d.fromVersion === null ? "" : ` v${d.fromVersion} →`} v${d.version ?? "?"}, step ${d.phase}`,
      );
    }
  }
  const lines = [
    `baton top  ${when}  (Ctrl-C to quit)`,
    "",
    renderTable(
      [["APP", "RELEASE", "SHARE", "REQ/S", "5XX", "UPSTREAM ERR", "P99 MS", "IN FLIGHT", "HELD"], ...rows],
      new Set([0, 1]),
    ),
  ];
  if (deploys.length > 0) lines.push("", "deploying:", ...deploys.map((d) => `  ${d}`));
  return lines.join("\n");
}
