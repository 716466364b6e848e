import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";
import { ms, renderTable, since } from "./table.js";

export const summary = "list an app's deploys, newest first: kind, status, version, who asked";

export const usage = `baton deploys --app NAME [--home DIR] [--json]

The last 100 deploys (deploys, rollbacks, config changes) of the app, newest first: id, kind,
status, version and the version it started from, when it started, how long it took, who or what
asked for it, and for a superseded deploy the one that superseded it.`;

/** A deploy as GET /v1/apps/NAME/deploys sends it (src/api/views.ts). */
interface DeployListed {
  id: number;
  kind: string;
  status: string;
  version: number | null;
  fromVersion: number | null;
  request: Record<string, unknown>;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  durationMs: number | null;
  error: { code: string; message: string } | null;
  details: Record<string, unknown>;
}

export interface DeployRow {
  id: number;
  kind: string;
  status: string;
  version: number | null;
  fromVersion: number | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  durationMs: number | null;
  /** Who asked, when the request says (a push names its pusher). */
  by: string | null;
  /** What was asked for: the source directory or commit, the rollback target, the config keys. */
  source: string;
  supersededBy: number | null;
  error: { code: string; message: string } | null;
}

/** What was asked for, from the request; config values never appear, only their keys. */
function describeRequest(d: DeployListed): string {
  const { request } = d;
  const source = request.source;
  if (typeof source === "string") return source;
  if (typeof source === "object" && source !== null) {
    const { dir, ref, commit, branch } = source as Record<string, unknown>;
    if (typeof commit === "string")
      return `push ${commit.slice(0, 12)}${typeof branch === "string" ? ` (${branch})` : ""}`;
    return `${typeof dir === "string" ? dir : "?"}${typeof ref === "string" ? ` @ ${ref}` : ""}`;
  }
  if (d.kind === "rollback") {
    const target = typeof request.version === "number" ? `v${request.version}` : "the previous release";
    return request.automatic === true ? `automatic rollback to ${target}` : `rollback to ${target}`;
  }
  if (d.kind === "config") {
    const set = Object.keys((request.set ?? {}) as Record<string, unknown>);
    const unset = Array.isArray(request.unset) ? request.unset.map(String) : [];
    return [
      set.length > 0 ? `config:set ${set.join(" ")}` : "",
      unset.length > 0 ? `config:unset ${unset.join(" ")}` : "",
    ]
      .filter((s) => s !== "")
      .join(", ");
  }
  return "";
}

export function deployRow(d: DeployListed): DeployRow {
  const source = d.request.source as Record<string, unknown> | undefined;
  const by = d.request.by ?? source?.pushedBy;
  const supersededBy = d.details.supersededBy;
  return {
    id: d.id,
    kind: d.kind,
    status: d.status,
    version: d.version,
    fromVersion: d.fromVersion,
    createdAt: d.createdAt,
    startedAt: d.startedAt,
    finishedAt: d.finishedAt,
    durationMs: d.durationMs,
    by: typeof by === "string" ? by : null,
    source: describeRequest(d),
    supersededBy: typeof supersededBy === "number" ? supersededBy : null,
    error: d.error === null ? null : { code: d.error.code, message: d.error.message },
  };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION });
  const app = requireApp(values.app);
  const { deploys } = await client(values.home).get<{ deploys: DeployListed[] }>(
    `/v1/apps/${encodeURIComponent(app)}/deploys`,
  );
  const rows = deploys.map(deployRow);
  if (values.json) {
    printJson(rows);
    return 0;
  }
  if (rows.length === 0) {
    say(`${app} has no deploys yet`);
    return 0;
  }
  const v = (n: number | null) => (n === null ? "" : `v${n}`);
  say(
    renderTable(
      [
        ["id", "kind", "status", "version", "from", "started", "duration", "asked by", "note"],
        ...rows.map((r) => [
          String(r.id),
          r.kind,
          r.status,
          v(r.version),
          v(r.fromVersion),
          r.startedAt === null ? "" : `${since(r.startedAt)} ago`,
          ms(r.durationMs),
          r.by === null ? r.source : `${r.by} (${r.source})`,
          r.supersededBy !== null ? `superseded by ${r.supersededBy}` : (r.error?.code ?? ""),
        ]),
      ],
      new Set([1, 2, 7, 8]),
    ),
  );
  return 0;
}
