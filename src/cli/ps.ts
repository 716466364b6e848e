import type { InstanceRecord } from "../store/store.js";
import { parse } from "./args.js";
import { APP_OPTION, COMMON_OPTIONS, client, printJson, requireApp, say } from "./common.js";
import { renderTable, since } from "./table.js";

export const summary = "list an app's instances: type, release, pid, port, state, uptime, restarts";

export const usage = `baton ps --app NAME [--home DIR] [--json]`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON_OPTIONS, ...APP_OPTION });
  const app = requireApp(values.app);
  const { instances } = await client(values.home).get<{ instances: InstanceRecord[] }>(
    `/v1/apps/${encodeURIComponent(app)}/instances`,
  );
  if (values.json) {
    printJson(instances);
    return 0;
  }
  if (instances.length === 0) {
    say(`${app} has no running instances`);
    return 0;
  }
  const rows = instances.map((i) => [
    `${i.type}.${i.index}`,
    `v${i.version}`,
    String(i.pid),
    i.port === null ? "" : String(i.port),
    i.state,
    since(i.startedAt),
    String(i.restarts),
  ]);
  say(
    renderTable([["instance", "release", "pid", "port", "state", "uptime", "restarts"], ...rows], new Set([0, 1, 4])),
  );
  return 0;
}
