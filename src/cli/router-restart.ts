import { resolveHome } from "../core/home.js";
import { parse } from "./args.js";
import { client, printJson, say } from "./common.js";

export const summary = "restart (or upgrade) the router in place, without refusing a connection";

export const usage = `baton router:restart [--home DIR] [--json]

Starts a new router process with the baton code now on disk (so after an upgrade, the new
version), hands it the listening socket and the routing table, and lets the old process finish
the requests it has in flight and close its connections politely: no connection is refused and
no request fails. Refused while a deploy runs. The router's counters start again from zero.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { home: { type: "string" }, json: { type: "boolean" } });
  const api = client(resolveHome(values.home));
  const result = await api.post<{ previousPid: number; pid: number }>("/v1/router/restart", {}, 60_000);
  if (values.json) printJson(result);
  else say(`router restarted in place: pid ${result.previousPid} → ${result.pid}`);
  return 0;
}
