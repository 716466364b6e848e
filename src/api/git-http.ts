import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import { closeServer } from "../core/json-http.js";
import { listenTcp, tcpPort } from "../core/listen.js";
import type { Logger } from "../core/log.js";
import { gitFreeEnv, repoPath } from "./git-repo.js";
import type { ServerToken } from "./token.js";

export interface GitHttpOptions {
  home: string;
  /** The server's token (`<home>/token`): the Basic password a push must give. */
  token: ServerToken;
  /** Whether the store knows the app: a leftover repository alone is not an app. */
  hasApp: (name: string) => boolean;
  log: Logger;
  /** How long one `git receive-pack` may run before it is killed (default one hour). */
  timeoutMs?: number;
}

const HOUR_MS = 60 * 60 * 1000;
/** After SIGTERM, how long a git process gets before SIGKILL. */
const KILL_GRACE_MS = 10_000;
const ROUTE = /^\/([^/]+)\.git\/(info\/refs|git-receive-pack|git-upload-pack)$/;
const NOT_A_GIT_HOST =
  "baton is not a git host: this remote takes pushes only (fetch and clone are refused); keep the code in your own git hosting";

/**
 * git's smart HTTP protocol on a TCP port, for pushes only (`baton server --git-port`): what
 * `git http-backend` does for receive-pack, without a CGI server in front. The app's repository
 * and its proc-receive hook are those of a push over SSH; the hook reaches the server through the
 * API socket, as it does then. Basic auth: any user name, the server's token as the password. The
 * token travels in clear: anything but loopback needs TLS in front (a reverse proxy).
 */
export class GitHttpServer {
  private readonly server: Server;
  private readonly running = new Set<ChildProcess>();
  private readonly timeoutMs: number;

  constructor(private readonly opts: GitHttpOptions) {
    this.timeoutMs = opts.timeoutMs ?? HOUR_MS;
    // requestTimeout bounds receiving a request (a large pack upload) as the git process is bounded.
    this.server = createServer({ requestTimeout: this.timeoutMs }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        opts.log.error("git over http failed", { url: req.url, error: String((error as Error)?.message ?? error) });
        if (!res.headersSent) reply(res, 500, "baton: the push failed on the server; see the server's log");
        else res.destroy();
      });
    });
  }

  /** Listen on host:port (port 0: any free one); resolves with the port. `option` names its flag. */
  listen(port: number, host: string, option?: string): Promise<number> {
    return listenTcp(this.server, port, host, option);
  }

  get port(): number | undefined {
    return tcpPort(this.server);
  }

  /** Stop listening and cut the open pushes: their git processes are killed (their deploys go on). */
  async close(): Promise<void> {
    await closeServer(this.server);
    for (const child of this.running) stop(child);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://baton");
    const match = ROUTE.exec(url.pathname);
    const [, name, path] = match ?? [];
    if (name === undefined || path === undefined) return reply(res, 404, "baton: not found");
    const service = path === "info/refs" ? url.searchParams.get("service") : path;
    // Refused before asking for the token: there is nothing a token would change.
    if (service === "git-upload-pack" || service === null) return reply(res, 403, NOT_A_GIT_HOST);
    if (service !== "git-receive-pack" || req.method !== (path === "info/refs" ? "GET" : "POST"))
      return reply(res, 404, "baton: not found");
    if (!this.opts.token.matches(basicPassword(req))) {
      res.setHeader("WWW-Authenticate", 'Basic realm="baton"');
      return reply(res, 401, "baton: push with any user name and the server's token (<home>/token) as the password");
    }
    if (!this.opts.hasApp(name))
      return reply(res, 404, `baton: no app "${name}": create it with baton apps:create ${name}`);
    const repo = repoPath(this.opts.home, name);
    if (!existsSync(join(repo, "HEAD")))
      return reply(res, 404, `baton: app "${name}" has no git repository: baton apps:create ${name} --repo-only`);
    if (path === "info/refs") return this.advertise(repo, res);
    return this.receive(name, repo, req, res);
  }

  /** The refs, the capabilities: small, so read whole and sent with a status that tells the truth. */
  private async advertise(repo: string, res: ServerResponse): Promise<void> {
    const child = this.git(["--advertise-refs", repo], {}, res);
    child.stdin?.end();
    const chunks: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => chunks.push(chunk));
    const { code, stderr } = await exited(child);
    if (res.destroyed) return;
    if (code !== 0) {
      this.opts.log.warn("git receive-pack --advertise-refs failed", { repo, code, stderr });
      return reply(res, 500, `baton: git receive-pack failed: ${stderr.trim() || `exit ${code}`}`);
    }
    res.writeHead(200, headers("application/x-git-receive-pack-advertisement"));
    res.write(pktLine("# service=git-receive-pack\n"));
    res.write("0000");
    res.end(Buffer.concat(chunks));
  }

  /**
   * The push itself: the body into `git receive-pack --stateless-rpc`, its output straight back
   * as it comes, so the hook's deploy lines (side-band) reach the client live.
   */
  private async receive(app: string, repo: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const user = basicUser(req);
    const child = this.git([repo], { BATON_PUSHED_BY: `${user} (http)` }, res);
    // A body that is not what it says (bad gzip) or a client gone: the git process goes too.
    const piped = (error?: NodeJS.ErrnoException | null) => {
      if (error && error.code !== "EPIPE") stop(child);
    };
    if (child.stdin !== null) {
      if (/^\s*(x-)?gzip\s*$/i.test(req.headers["content-encoding"] ?? ""))
        pipeline(req, createGunzip(), child.stdin, piped);
      else pipeline(req, child.stdin, piped);
    }
    child.stdout?.once("data", () => res.writeHead(200, headers("application/x-git-receive-pack-result")));
    child.stdout?.pipe(res, { end: false });
    const started = Date.now();
    const { code, signal, stderr } = await exited(child);
    this.opts.log.info("git push over http", { app, user, code, signal, ms: Date.now() - started });
    if (res.destroyed) return;
    if (!res.headersSent) {
      if (code === 0) res.writeHead(200, headers("application/x-git-receive-pack-result"));
      else return reply(res, 500, `baton: git receive-pack failed: ${stderr.trim() || `exit ${code ?? signal}`}`);
    }
    res.end();
  }

  /**
   * `git receive-pack --stateless-rpc ARGS`, bounded in time and killed when the client goes
   * away. Its own process group: a Ctrl-C meant for the server does not reach the hook, which
   * (as over SSH) follows its deploy to the end and removes its export even when git is gone.
   */
  private git(args: string[], env: Record<string, string>, res: ServerResponse): ChildProcess {
    const child = spawn("git", ["receive-pack", "--stateless-rpc", ...args], {
      env: { ...gitFreeEnv(), ...env },
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    this.running.add(child);
    const timer = setTimeout(() => {
      this.opts.log.warn("git receive-pack ran too long; killed", { timeoutMs: this.timeoutMs });
      stop(child);
      res.destroy();
    }, this.timeoutMs);
    res.once("close", () => {
      if (!res.writableFinished) stop(child);
    });
    const done = () => {
      clearTimeout(timer);
      this.running.delete(child);
    };
    child.once("close", done);
    child.once("error", done);
    return child;
  }
}

/** SIGTERM, then SIGKILL if it lingers. Only the git process: its hook finishes on its own. */
function stop(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const kill = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
  kill.unref();
  child.once("exit", () => clearTimeout(kill));
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk;
  });
  return new Promise((resolve) => {
    child.once("error", (error) => resolve({ code: null, signal: null, stderr: error.message }));
    child.once("close", (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** The Basic credentials: [user, password], empty when absent or not Basic. */
function basicCredentials(req: IncomingMessage): [string, string] {
  const match = /^Basic\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  if (match?.[1] === undefined) return ["", ""];
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? [decoded, ""] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

const basicPassword = (req: IncomingMessage): string => basicCredentials(req)[1];

/** Who pushed, as far as a token holder says: the user name, cut to something printable. */
const basicUser = (req: IncomingMessage): string =>
  basicCredentials(req)[0]
    .replace(/[^\w.@+-]/g, "")
    .slice(0, 64) || "anonymous";

function pktLine(text: string): string {
  return (Buffer.byteLength(text) + 4).toString(16).padStart(4, "0") + text;
}

function headers(contentType: string): Record<string, string> {
  return { "Content-Type": contentType, "Cache-Control": "no-cache, max-age=0, must-revalidate", Expires: "0" };
}

/** A plain-text answer: git prints a text/plain body as `remote: ...` lines. */
function reply(res: ServerResponse, status: number, message: string): void {
  const text = `${message}\n`;
  // Headers set before (WWW-Authenticate) are merged in by writeHead.
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache",
  });
  res.end(text);
}
