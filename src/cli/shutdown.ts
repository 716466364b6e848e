import { resolveHome } from "../core/home.js";
import { waitFor } from "../core/wait.js";
import { pidAlive } from "../supervisor/process-info.js";
import { parse } from "./args.js";
import { client, printJson, say } from "./common.js";

export const summary = "stop the server, and with it every instance and the router";

export const usage = `baton shutdown [--keep-running] [--home DIR] [--json]

Stops every instance (SIGTERM to its process group, SIGKILL after its stop timeout), the router and
the server. With --keep-running only the server stops: the router and the instances keep serving
and the next \`baton server\` re-adopts them.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    home: { type: "string" },
    "keep-running": { type: "boolean" },
    json: { type: "boolean" },
  });
  const home = resolveHome(values.home);
  const api = client(home);
  const { pid } = await api.get<{ pid: number }>("/v1/health", 5_000);
  await api.post("/v1/shutdown", { keepRunning: values["keep-running"] === true });
  await waitFor("the server to exit", () => (pidAlive(pid) ? undefined : true), {
    timeoutMs: 120_000,
    intervalMs: 100,
  });
  if (values.json) printJson({ stopped: true, keepRunning: values["keep-running"] === true });
  else
    say(
      values["keep-running"]
        ? "baton server stopped; the router and the instances keep serving"
        : "baton stopped: instances, router and server",
    );
  return 0;
}
