import { resolveHome } from "../core/home.js";
import { parse } from "./args.js";
import { client, printJson, say } from "./common.js";

export const summary = "replace the server's token; the old one stops working at once";

export const usage = `baton token:rotate [--home DIR] [--json]

Writes a new token to DIR/token (mode 0600) and makes the running server accept only that one,
on every door: the API, the dashboard (everyone signed in is signed out), /metrics and git over
HTTP. The CLI reads the file, so it goes on working; update what else holds the token (a
Prometheus credentials file, a git remote's password).`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { home: { type: "string" }, json: { type: "boolean" } });
  const result = await client(resolveHome(values.home)).post<{ rotated: boolean; path: string }>(
    "/v1/token/rotate",
    {},
  );
  if (values.json) printJson(result);
  else say(`token rotated: the new one is in ${result.path}; the old one no longer works`);
  return 0;
}
