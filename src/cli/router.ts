import { resolveHome, routerPaths } from "../core/home.js";
import { Router } from "../router/router.js";
import { intOption, parse } from "./args.js";

export const summary = "run the router (data plane) in the foreground";

export const usage = `baton router [--port 8080] [--host 0.0.0.0] [--home DIR] [--hold-timeout MS] [--drain-timeout MS]
             [--connect-timeout MS] [--response-timeout MS]

Runs baton's router: the public HTTP listener that routes by Host to app instances, and its admin
API on the unix socket DIR/router.sock (mode 0600). The routing table is saved to
DIR/router-table.json on every change and restored at start. SIGTERM or SIGINT closes gracefully.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    port: { type: "string" },
    host: { type: "string" },
    home: { type: "string" },
    "hold-timeout": { type: "string" },
    "drain-timeout": { type: "string" },
    "connect-timeout": { type: "string" },
    "response-timeout": { type: "string" },
  });
  const home = resolveHome(values.home);
  const router = new Router({
    ...routerPaths(home),
    port: intOption(values.port, "port"),
    host: values.host,
    holdTimeoutMs: intOption(values["hold-timeout"], "hold-timeout"),
    drainTimeoutMs: intOption(values["drain-timeout"], "drain-timeout"),
    connectTimeoutMs: intOption(values["connect-timeout"], "connect-timeout"),
    responseHeadersTimeoutMs: intOption(values["response-timeout"], "response-timeout"),
  });
  await router.listen();
  process.stdout.write(
    `baton router listening on http://${router.options.host}:${router.port} (admin: ${routerPaths(home).adminSocket})\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      void router.close().then(resolve);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  return 0;
}
