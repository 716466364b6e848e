import cluster from "node:cluster";
import { resolve } from "node:path";
import { resolveHome, routerPaths } from "../core/home.js";
import { createLogger } from "../core/log.js";
import { RouterPrimary, runRouterWorker } from "../router/cluster.js";
import type { RouterUserOptions } from "../router/options.js";
import { Router } from "../router/router.js";
import { intOption, listOption, parse } from "./args.js";

export const summary = "run the router (data plane) in the foreground";

export const usage = `baton router [--port 8080] [--host 0.0.0.0] [--home DIR] [--workers N]
             [--https-port 8443 --tls-dir DIR]
             [--hold-timeout MS] [--drain-timeout MS] [--connect-timeout MS] [--response-timeout MS]
             [--headers-timeout MS] [--body-timeout MS]
             [--access-log FILE|-] [--trusted-proxy ADDRESS|CIDR ...] [--node-http]

Runs baton's router: the public HTTP listener that routes by Host to app instances, and its admin
API on the unix socket DIR/router.sock (mode 0600). The routing table is saved to
DIR/router-table.json on every change and restored at start. SIGTERM or SIGINT closes gracefully.

--workers N runs N proxy processes on the same port behind one admin API (node:cluster); every
routing change reaches all of them before the admin call returns. Default 1.

--headers-timeout (default 20000) is how long a client has to send its request headers, and
--body-timeout (default 60000) the longest pause allowed in a request body; then it gets a 408
and its connection is closed (slowloris clients). A body of known length up to 64 KiB is read
whole before an instance is chosen, so a slow client never holds an instance's connection.

--https-port PORT with --tls-dir DIR also serves HTTPS on PORT (TLS 1.2 or later, ALPN
http/1.1). DIR holds certificate/key pairs in PEM: NAME.crt with NAME.key, or NAME/fullchain.pem
with NAME/privkey.pem (certbot's live/ directory works as it is). Each certificate is served for
the host names it covers (its subjectAltName DNS names, wildcards included), chosen by the SNI
name of each connection; default.crt/default.key (or default/) is served when none covers it or
the client sends no name. SIGHUP (or baton tls:reload) reads DIR again: new connections get the
new certificates, open ones keep theirs; a bad file leaves the old certificates in use. Requests
over HTTPS reach the app with X-Forwarded-Proto: https.

--access-log appends one JSON line per request (request id, app, release, target, method, path,
status, ms, attempts) to FILE, or writes them to stdout with "-". Off by default.

--trusted-proxy (repeatable, or comma-separated) names the load balancers or TLS terminators in
front of the router: from them X-Forwarded-For is extended and X-Forwarded-Proto/-Host/-Port are
kept. From any other client those headers are dropped and replaced by what the router sees.

Plain GET and HEAD requests without a body are parsed and answered by the router itself (about
a quarter less CPU per request than through node:http's server side, in bench/router); at the first
other request (a body, an upgrade, anything unusual) the connection goes to node:http for good.
--node-http sends every request through node:http, for comparison or as a fallback.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    port: { type: "string" },
    "https-port": { type: "string" },
    "tls-dir": { type: "string" },
    host: { type: "string" },
    home: { type: "string" },
    workers: { type: "string" },
    "hold-timeout": { type: "string" },
    "drain-timeout": { type: "string" },
    "connect-timeout": { type: "string" },
    "response-timeout": { type: "string" },
    "headers-timeout": { type: "string" },
    "body-timeout": { type: "string" },
    "access-log": { type: "string" },
    "trusted-proxy": { type: "string", multiple: true },
    "node-http": { type: "boolean" },
  });
  const home = resolveHome(values.home);
  const options: RouterUserOptions = {
    ...routerPaths(home),
    port: intOption(values.port, "port"),
    httpsPort: intOption(values["https-port"], "https-port"),
    tlsDir: values["tls-dir"] === undefined ? undefined : resolve(values["tls-dir"]),
    host: values.host,
    holdTimeoutMs: intOption(values["hold-timeout"], "hold-timeout"),
    drainTimeoutMs: intOption(values["drain-timeout"], "drain-timeout"),
    connectTimeoutMs: intOption(values["connect-timeout"], "connect-timeout"),
    responseHeadersTimeoutMs: intOption(values["response-timeout"], "response-timeout"),
    clientHeadersTimeoutMs: intOption(values["headers-timeout"], "headers-timeout"),
    clientBodyTimeoutMs: intOption(values["body-timeout"], "body-timeout"),
    accessLog: values["access-log"],
    trustedProxies: listOption(values["trusted-proxy"]),
    fastPath: values["node-http"] === true ? false : undefined,
  };
  if (cluster.isWorker) {
    await runRouterWorker(options);
    return 0;
  }
  const workers = intOption(values.workers, "workers") ?? 1;
  const router = workers > 1 ? new RouterPrimary(options, workers) : new Router(options);
  try {
    await router.listen();
  } catch (error) {
    // Let go of whatever did start (other workers, the ports already bound), so the process exits.
    await router.close();
    throw error;
  }
  const https = router instanceof Router ? router.httpsPort : router.options.httpsPort;
  process.stdout.write(
    `baton router listening on http://${router.options.host}:${router.port}${https === undefined ? "" : ` and https://${router.options.host}:${https}`} (admin: ${routerPaths(home).adminSocket}, workers: ${workers})\n`,
  );
  // A certificate renewal (certbot's deploy hook, say) sends SIGHUP: no restart, no downtime.
  const log = createLogger("router");
  const onHangup = (): void => {
    router.ops.reloadTls().then(
      (loaded) => log.info("TLS reloaded on SIGHUP", { certificates: loaded.certificates.length }),
      (error: unknown) => log.error("TLS reload on SIGHUP failed", { error: (error as Error).message }),
    );
  };
  if (router.options.tlsDir !== undefined) process.on("SIGHUP", onHangup);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGHUP", onHangup);
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      void router.close().then(resolve);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    // Handed off to a successor (POST /v1/handoff): this process is done once it has retired.
    if (router instanceof Router)
      void router.retired.then(() => {
        process.off("SIGTERM", stop);
        process.off("SIGINT", stop);
        resolve();
      });
  });
  return 0;
}
