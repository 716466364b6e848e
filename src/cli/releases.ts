import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";
import { ms, renderTable, since } from "./table.js";

export const summary = "list an app's releases: status, source, age, deploy time";

export const usage = `baton releases --app NAME [--home DIR] [--json]`;

interface ReleaseView {
  version: number;
  status: string;
  source: string;
  createdAt: number;
  pruned: boolean;
  current: boolean;
  configKeys: string[];
  deploy: { id: number; status: string; durationMs: number | null } | null;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION });
  const app = requireApp(values.app);
  const result = await client(values.home).get<{ currentVersion: number | null; releases: ReleaseView[] }>(
    `/v1/apps/${encodeURIComponent(app)}/releases`,
  );
  if (values.json) {
    printJson(result);
    return 0;
  }
  if (result.releases.length === 0) {
    say(`${app} has no releases yet`);
    return 0;
  }
  const rows = result.releases.map((r) => [
    `v${r.version}${r.current ? " *" : ""}`,
    r.current ? "current" : r.status === "ready" ? (r.pruned ? "ready (files cleaned)" : "ready") : r.status,
    r.source,
    `${since(r.createdAt)} ago`,
    r.deploy === null ? "" : `${r.deploy.status} in ${ms(r.deploy.durationMs)}`,
  ]);
  say(renderTable([["release", "status", "source", "created", "deploy"], ...rows], new Set([0, 1, 2, 4])));
  return 0;
}
