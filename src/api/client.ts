import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { describeEndpoint, type Endpoint, httpsEndpoint, openRequest } from "../core/endpoint.js";
import { BatonError } from "../core/errors.js";
import { callJson, errorFromBody } from "../core/json-http.js";
import { cliUser } from "../core/who.js";
import { serverPaths } from "../deploy/paths.js";
import type { EventRecord } from "../store/store.js";

/**
 * The CLI's only way to the server: its API on `<home>/server.sock` with `<home>/token`, or, from
 * another machine, its TLS-only TCP API (`baton server --api-port`) named by BATON_SERVER.
 */
export class ApiClient {
  private constructor(
    private readonly endpoint: Endpoint,
    private readonly token: string,
  ) {}

  /** The server of this home, on its unix socket. */
  static local(home: string): ApiClient {
    const paths = serverPaths(home);
    try {
      return new ApiClient({ socketPath: paths.socket }, readFileSync(paths.token, "utf8").trim());
    } catch (error) {
      throw new BatonError("BATON_SERVER_UNREACHABLE", `no baton server token in ${home}`, {
        cause: error,
        hint: "start the server first (`baton server`, or `baton server --detach`) with the same --home",
      });
    }
  }

  /**
   * What a CLI command talks to: the server named by BATON_SERVER (https://HOST:PORT, with
   * BATON_TOKEN or BATON_TOKEN_FILE, and BATON_CA for a private CA) when it is set, else this home's.
   */
  static forCli(home: string, env: NodeJS.ProcessEnv = process.env): ApiClient {
    const address = env.BATON_SERVER;
    if (address === undefined || address === "") return ApiClient.local(home);
    return new ApiClient(httpsEndpoint(address, env.BATON_CA), remoteToken(env));
  }

  get<T>(path: string, timeoutMs = 30_000): Promise<T> {
    return this.call<T>("GET", path, undefined, timeoutMs);
  }

  post<T>(path: string, body: unknown, timeoutMs = 30_000): Promise<T> {
    return this.call<T>("POST", path, body, timeoutMs);
  }

  /** Any other method (PUT, DELETE) with a JSON body. */
  send<T>(method: "PUT" | "DELETE" | "PATCH", path: string, body: unknown, timeoutMs = 30_000): Promise<T> {
    return this.call<T>(method, path, body, timeoutMs);
  }

  /**
   * Start a deploy-like request and follow it: `onEvent` sees each event as it happens; resolves
   * with the finished deploy. No timeout: a deploy takes as long as its build does, and the
   * server bounds every step.
   */
  stream(
    method: string,
    path: string,
    body: unknown,
    onEvent: (event: EventRecord) => void,
  ): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = openRequest(
        this.endpoint,
        {
          method,
          path,
          headers: { ...this.auth(), "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) },
        },
        (res) => {
          if ((res.statusCode ?? 500) >= 400) {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => reject(errorFromBody(Buffer.concat(chunks), `${method} ${path} was refused`)));
            return;
          }
          let buffered = "";
          let result: Record<string, unknown> | undefined;
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            buffered += chunk;
            let newline = buffered.indexOf("\n");
            while (newline >= 0) {
              const line = buffered.slice(0, newline);
              buffered = buffered.slice(newline + 1);
              if (line.trim() !== "") {
                const message = JSON.parse(line) as {
                  event?: EventRecord;
                  deploy?: Record<string, unknown>;
                  applied?: Record<string, unknown>;
                  result?: Record<string, unknown>;
                };
                if (message.event !== undefined) onEvent(message.event);
                if (message.deploy !== undefined) result = message.deploy;
                // A change applied without a deploy (config vars of an app that serves nothing yet).
                if (message.applied !== undefined) result = { applied: message.applied };
                // What a request that is not a deploy ended with (a one-off's exit code).
                if (message.result !== undefined) result = message.result;
              }
              newline = buffered.indexOf("\n");
            }
          });
          const lost = (): BatonError =>
            new BatonError("BATON_SERVER_UNREACHABLE", "the server went away before the deploy finished", {
              hint: "a restarted server completes or rolls back the deploy; `baton status --app NAME` shows how it ended",
            });
          res.on("end", () => (result !== undefined ? resolve(result) : reject(lost())));
          res.on("error", () => reject(lost()));
        },
      );
      req.on("error", (error) => reject(this.unreachable(error)));
      req.end(payload);
    });
  }

  /** Raw text stream (logs); resolves when the server ends it or `signal` aborts. */
  text(path: string, onText: (text: string) => void, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = openRequest(this.endpoint, { method: "GET", path, headers: this.auth(), signal }, (res) => {
        res.setEncoding("utf8");
        res.on("data", onText);
        res.on("end", () => resolve());
        res.on("error", () => resolve());
      });
      req.on("error", (error) => (signal?.aborted ? resolve() : reject(this.unreachable(error))));
      req.end();
    });
  }

  private call<T>(method: string, path: string, body: unknown, timeoutMs: number): Promise<T> {
    return callJson<T>({
      endpoint: this.endpoint,
      method,
      path,
      body,
      headers: this.auth(),
      timeoutMs,
      unreachable: (cause) => this.unreachable(cause),
    });
  }

  private auth(): Record<string, string> {
    return { Authorization: `Bearer ${this.token}`, "X-Baton-Actor": actor() };
  }

  private unreachable(cause: Error): BatonError {
    const where = describeEndpoint(this.endpoint);
    if (!("socketPath" in this.endpoint)) {
      return new BatonError(
        "BATON_SERVER_UNREACHABLE",
        `the baton server did not answer on ${where}: ${cause.message}`,
        {
          cause,
          hint: "check BATON_SERVER and that the server runs with --api-port; for a certificate of your own CA set BATON_CA to its file",
        },
      );
    }
    return new BatonError("BATON_SERVER_UNREACHABLE", `the baton server did not answer on ${where}`, {
      cause,
      hint: "is `baton server` running with this --home? Start it with `baton server --detach`",
    });
  }
}

let cachedActor: string | undefined;

/** Who is asking, for the server's audit log: the OS user and host of this process. */
function actor(): string {
  cachedActor ??= `${cliUser()}@${hostname()}`;
  return cachedActor;
}

/** The token for a remote server: BATON_TOKEN, or the first line of BATON_TOKEN_FILE. */
function remoteToken(env: NodeJS.ProcessEnv): string {
  if (env.BATON_TOKEN !== undefined && env.BATON_TOKEN !== "") return env.BATON_TOKEN.trim();
  const file = env.BATON_TOKEN_FILE;
  if (file !== undefined && file !== "") {
    try {
      return readFileSync(file, "utf8").trim();
    } catch (error) {
      throw new BatonError("BATON_USAGE", `cannot read BATON_TOKEN_FILE ${file}`, { cause: error });
    }
  }
  throw new BatonError("BATON_USAGE", "BATON_SERVER is set but no token is", {
    hint: "set BATON_TOKEN_FILE to a copy of the server's <home>/token (mode 0600), or BATON_TOKEN",
  });
}
