import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type ApiTls, loadApiTls } from "../api/api-tls.js";
import { BatonServer } from "../api/baton-server.js";
import { ApiClient } from "../api/client.js";
import { BatonError } from "../core/errors.js";
import { resolveHome } from "../core/home.js";
import { createLogger } from "../core/log.js";
import { waitFor } from "../core/wait.js";
import { serverPaths } from "../deploy/paths.js";
import { type AppUser, resolveAppUser } from "../supervisor/run-as.js";
import { intOption, listOption, parse } from "./args.js";
import { printJson, say } from "./common.js";

export const summary = "run the control plane and the router on this host";

export const usage = `baton server [--port 8080] [--host 127.0.0.1] [--git-port PORT [--git-host 127.0.0.1]]
             [--http-port PORT [--http-host 127.0.0.1]] [--access-log] [--log-max-mb 64]
             [--api-port PORT --api-cert FILE --api-key FILE [--api-host 127.0.0.1]]
             [--trusted-proxy ADDRESS|CIDR ...] [--user NAME | --allow-root-apps]
             [--https-port PORT --tls-dir DIR]
             [--home DIR] [--detach] [--json]

Runs baton's control plane in the foreground: its API on DIR/server.sock (token in DIR/token,
mode 0600), the store DIR/baton.db, and the router on --port (started as its own process unless
one already runs for DIR). At start it re-adopts the instances still running and resolves any
deploy a previous server left unfinished. Stopping it (Ctrl-C, SIGTERM) leaves the router and the
instances serving; \`baton shutdown\` stops everything. --detach runs it in the background.
--git-port also takes \`git push\` over HTTP (http://baton@HOST:PORT/NAME.git, the token as the
password; push only), on 127.0.0.1 unless --git-host says otherwise: Basic auth sends the token in
clear, so expose it only behind TLS (a reverse proxy).
--http-port serves the dashboard (sign in with the token) and Prometheus metrics at /metrics
(Authorization: Bearer <token>) on 127.0.0.1 unless --http-host says otherwise.
--api-port serves the same API over TLS on TCP, for a CLI on another machine (BATON_SERVER=
https://HOST:PORT, BATON_TOKEN_FILE=a copy of the token, BATON_CA=the CA file for a private
certificate). TLS only: it needs --api-cert and --api-key (PEM) and refuses to start without them.
On 127.0.0.1 unless --api-host says otherwise. Off by default.
--access-log makes a router started by this server log every request to DIR/access.log.
--log-max-mb bounds every log baton writes (each instance's, the router's, the access log, the
server's): past this size a file is copied to FILE.1 and emptied, checked every 2 s (default 64).
--trusted-proxy names a load balancer in front of the router: only its X-Forwarded-* headers are
kept (see \`baton router --help\`).
--user NAME (or BATON_USER) runs every process of every app (build, release phase, hooks,
instances, \`baton run\`) as that unprivileged user when baton runs as root; the release directories
are handed to it, the rest of the home (token, store, sockets, logs) stays closed to it. As root
without --user, baton refuses to start (BATON_APPS_AS_ROOT) unless --allow-root-apps says to run the
apps as root. Not as root, --user may only name baton's own user.
--https-port with --tls-dir makes a router started by this server also serve HTTPS with the
certificates in DIR (layout and reload: see \`baton router --help\`; \`baton tls:reload\` reloads).`;

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    port: { type: "string" },
    host: { type: "string" },
    "git-port": { type: "string" },
    "git-host": { type: "string" },
    "http-port": { type: "string" },
    "http-host": { type: "string" },
    "access-log": { type: "boolean" },
    "log-max-mb": { type: "string" },
    "trusted-proxy": { type: "string", multiple: true },
    "api-port": { type: "string" },
    "api-host": { type: "string" },
    "api-cert": { type: "string" },
    "api-key": { type: "string" },
    user: { type: "string" },
    "allow-root-apps": { type: "boolean" },
    "https-port": { type: "string" },
    "tls-dir": { type: "string" },
    home: { type: "string" },
    detach: { type: "boolean" },
    json: { type: "boolean" },
  });
  const appUserChoice = {
    user: values.user ?? process.env.BATON_USER,
    allowRootApps: values["allow-root-apps"] === true,
  };
  // Checked before the home is touched: a refusal leaves nothing behind.
  const appUser = resolveAppUser(appUserChoice);
  const home = resolveHome(values.home);
  const port = intOption(values.port, "port") ?? 8080;
  const host = values.host ?? "127.0.0.1";
  const git = gitOptions(values["git-port"], values["git-host"]);
  const web = httpOptions(values["http-port"], values["http-host"], values["access-log"] === true);
  const logMaxMb = intOption(values["log-max-mb"], "log-max-mb", 1);
  const trustedProxies = listOption(values["trusted-proxy"]);
  const api = apiOptions(values["api-port"], values["api-host"], values["api-cert"], values["api-key"]);
  const tls = tlsOptions(values["https-port"], values["tls-dir"]);
  if (values.detach)
    return detach(home, port, host, git, web, api, logMaxMb, trustedProxies, appUserChoice, tls, values.json === true);
  const log = createLogger("server");
  const server = new BatonServer({
    home,
    port,
    host,
    ...git,
    ...web,
    ...(api === undefined ? {} : { apiPort: api.port, apiHost: api.host, apiTls: api.tls }),
    ...(logMaxMb === undefined ? {} : { logMaxBytes: logMaxMb * 1024 * 1024 }),
    trustedProxies,
    appUser,
    ...(tls === undefined ? {} : { tls }),
    log,
  });
  if (appUser === undefined && process.geteuid?.() === 0)
    log.warn("baton runs as root and runs the apps as root (--allow-root-apps)", {});
  await server.start();
  const recovered = server.recovery;
  if (values.json)
    printJson({
      pid: process.pid,
      home,
      routerPort: server.router?.port,
      routerHttpsPort: server.router?.httpsPort ?? null,
      routerPid: server.router?.pid,
      routerStarted: server.router?.started,
      appUser: appUserView(appUser),
      ...server.gitAddress(),
      ...server.httpAddress(),
      ...server.apiAddress(),
      recovery: recovered,
    });
  else {
    if (appUser !== undefined) say(`apps run as user ${appUser.name} (uid ${appUser.uid}, gid ${appUser.gid})`);
    say(
      `baton server ready: router on http://${host}:${server.router?.port} (pid ${server.router?.pid}${server.router?.started ? ", started" : ", adopted"}), API on ${serverPaths(home).socket}`,
    );
    if (server.router?.httpsPort !== undefined) say(`router HTTPS on https://${host}:${server.router.httpsPort}`);
    const { gitHost, gitPort } = server.gitAddress();
    if (gitPort !== null) say(`git push over HTTP: http://${gitHost}:${gitPort}/NAME.git (password: the token)`);
    const { apiHost, apiPort } = server.apiAddress();
    if (apiPort !== null) say(`API over TLS: https://${apiHost}:${apiPort} (BATON_SERVER for a remote CLI)`);
    const { httpHost, httpPort } = server.httpAddress();
    if (httpPort !== null)
      say(
        `dashboard: http://${httpHost}:${httpPort}/ (sign in with the token in ${serverPaths(home).token}), metrics at /metrics`,
      );
  }
  if (
    !values.json &&
    recovered !== undefined &&
    recovered.adopted + recovered.completed.length + recovered.rolledBack.length > 0
  ) {
    say(
      `recovered: ${recovered.adopted} instances re-adopted, deploys completed [${recovered.completed.join(", ")}], rolled back [${recovered.rolledBack.join(", ")}]`,
    );
  }
  const stop = (): void => void server.close();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  await server.done;
  process.off("SIGTERM", stop);
  process.off("SIGINT", stop);
  return 0;
}

interface TlsOptions {
  httpsPort: number;
  tlsDir: string;
}

/** --https-port and --tls-dir go together: a port without certificates serves nothing. */
function tlsOptions(port: string | undefined, dir: string | undefined): TlsOptions | undefined {
  if (port === undefined && dir === undefined) return undefined;
  const httpsPort = intOption(port, "https-port");
  if (httpsPort === undefined || dir === undefined || dir === "")
    throw new BatonError("BATON_USAGE", "--https-port and --tls-dir go together", {
      hint: "baton server --https-port 8443 --tls-dir /etc/baton/tls",
    });
  return { httpsPort, tlsDir: resolve(dir) };
}

/** --git-port and --git-host, checked: a host without a port is a mistake worth saying. */
function gitOptions(port: string | undefined, host: string | undefined): { gitPort?: number; gitHost?: string } {
  if (port === undefined && host !== undefined)
    throw new BatonError("BATON_USAGE", "--git-host needs --git-port", { hint: "baton server --git-port 8081" });
  const gitPort = intOption(port, "git-port");
  return gitPort === undefined ? {} : { gitPort, gitHost: host ?? "127.0.0.1" };
}

interface ApiOptions {
  port: number;
  host: string;
  tls: ApiTls;
  /** The files, to pass on to a detached server. */
  certFile: string;
  keyFile: string;
}

/** --api-port with its TLS pair, read and checked now so that a bad file stops the start at once. */
function apiOptions(
  port: string | undefined,
  host: string | undefined,
  certFile: string | undefined,
  keyFile: string | undefined,
): ApiOptions | undefined {
  if (port === undefined) {
    if (host !== undefined || certFile !== undefined || keyFile !== undefined)
      throw new BatonError("BATON_USAGE", "--api-host, --api-cert and --api-key need --api-port", {
        hint: "baton server --api-port 8443 --api-cert server.crt --api-key server.key",
      });
    return undefined;
  }
  const apiPort = intOption(port, "api-port") ?? 0;
  const tls = loadApiTls(certFile, keyFile);
  return { port: apiPort, host: host ?? "127.0.0.1", tls, certFile: certFile ?? "", keyFile: keyFile ?? "" };
}

interface HttpOptions {
  httpPort?: number;
  httpHost?: string;
  accessLog?: boolean;
}

/** --http-port and --http-host (the same check as git's), and --access-log. */
function httpOptions(port: string | undefined, host: string | undefined, accessLog: boolean): HttpOptions {
  if (port === undefined && host !== undefined)
    throw new BatonError("BATON_USAGE", "--http-host needs --http-port", { hint: "baton server --http-port 8090" });
  const httpPort = intOption(port, "http-port");
  return {
    ...(httpPort === undefined ? {} : { httpPort, httpHost: host ?? "127.0.0.1" }),
    ...(accessLog ? { accessLog } : {}),
  };
}

/** Start the server in the background (own session, output to DIR/server.log) and wait for its API. */
async function detach(
  home: string,
  port: number,
  host: string,
  git: { gitPort?: number; gitHost?: string },
  web: HttpOptions,
  api: ApiOptions | undefined,
  logMaxMb: number | undefined,
  trustedProxies: string[],
  appUserChoice: { user?: string | undefined; allowRootApps: boolean },
  tls: TlsOptions | undefined,
  json: boolean,
): Promise<number> {
  const paths = serverPaths(home);
  const log = openSync(paths.serverLog, "a", 0o600);
  let exitCode: number | null = null;
  try {
    const gitArgs =
      git.gitPort === undefined ? [] : ["--git-port", String(git.gitPort), "--git-host", git.gitHost ?? ""];
    const webArgs = [
      ...(web.httpPort === undefined ? [] : ["--http-port", String(web.httpPort), "--http-host", web.httpHost ?? ""]),
      ...(web.accessLog === true ? ["--access-log"] : []),
      ...(api === undefined
        ? []
        : [
            "--api-port",
            String(api.port),
            "--api-host",
            api.host,
            "--api-cert",
            api.certFile,
            "--api-key",
            api.keyFile,
          ]),
      ...(logMaxMb === undefined ? [] : ["--log-max-mb", String(logMaxMb)]),
      ...trustedProxies.flatMap((proxy) => ["--trusted-proxy", proxy]),
      ...(appUserChoice.user === undefined ? [] : ["--user", appUserChoice.user]),
      ...(appUserChoice.allowRootApps ? ["--allow-root-apps"] : []),
      ...(tls === undefined ? [] : ["--https-port", String(tls.httpsPort), "--tls-dir", tls.tlsDir]),
    ];
    const child = spawn(
      process.execPath,
      [MAIN, "server", "--home", home, "--port", String(port), "--host", host, ...gitArgs, ...webArgs],
      {
        detached: true,
        stdio: ["ignore", log, log],
      },
    );
    child.once("exit", (code) => {
      exitCode = code ?? -1;
    });
    child.unref();
  } finally {
    closeSync(log);
  }
  const health = await waitFor(
    "the server's API",
    async () => {
      if (exitCode !== null)
        throw new BatonError(
          "BATON_SERVER_UNREACHABLE",
          `the server exited with code ${exitCode}; see ${paths.serverLog}`,
        );
      return ApiClient.local(home)
        .get<{
          pid: number;
          routerPort: number;
          gitHost?: string | null;
          gitPort?: number | null;
          httpHost?: string | null;
          httpPort?: number | null;
          apiHost?: string | null;
          apiPort?: number | null;
        }>("/v1/health", 2_000)
        .catch(() => undefined);
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  if (json) printJson({ ...health, log: paths.serverLog });
  else
    say(
      `baton server running in the background (pid ${health.pid}): router on http://${host}:${health.routerPort}${typeof health.gitPort === "number" ? `, git push over http://${health.gitHost}:${health.gitPort}/NAME.git` : ""}${typeof health.httpPort === "number" ? `, dashboard on http://${health.httpHost}:${health.httpPort}/` : ""}${typeof health.apiPort === "number" ? `, API on https://${health.apiHost}:${health.apiPort}` : ""}, log ${paths.serverLog}`,
    );
  return 0;
}

function appUserView(user: AppUser | undefined): { name: string; uid: number; gid: number } | null {
  return user === undefined ? null : { name: user.name, uid: user.uid, gid: user.gid };
}
