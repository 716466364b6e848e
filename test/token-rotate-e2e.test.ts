// `baton token:rotate` through the real CLI and server: the old token stops working on every door
// at once (API, /metrics, dashboard sign-in, existing dashboard sessions), the new one works, and
// the CLI, which reads the file, goes on working.
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ApiClient } from "../src/api/client.js";
import { settledWithin } from "../src/core/wait.js";
import { freePort } from "../src/supervisor/ports.js";
import { explained, cli as runCli, type ServerProc, startServer, stopEverything } from "./e2e-harness.js";
import { cleanup, tmpHome } from "./helpers.js";

const home = tmpHome();
let server: ServerProc | undefined;
let httpPort = 0;
const baton = (args: string[], timeoutMs = 60_000) => runCli(home, args, timeoutMs);
const tokenFile = join(home, "token");

/** One request; over the API's unix socket when `socketPath` is given, else to the dashboard port. */
function call(
  options: { path: string; method?: string; headers?: Record<string, string>; socketPath?: string },
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        ...(options.socketPath === undefined
          ? { host: "127.0.0.1", port: httpPort }
          : { socketPath: options.socketPath }),
        path: options.path,
        method: options.method ?? "GET",
        headers: options.headers,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const apiWith = (token: string) =>
  call({ path: "/v1/apps", socketPath: join(home, "server.sock"), headers: { authorization: `Bearer ${token}` } });
const metricsWith = (token: string) => call({ path: "/metrics", headers: { authorization: `Bearer ${token}` } });
const signIn = async (token: string) => {
  const reply = await call(
    { path: "/login", method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" } },
    `token=${encodeURIComponent(token)}`,
  );
  const cookie = ([] as string[]).concat(reply.headers["set-cookie"] ?? [])[0]?.split(";")[0];
  return { status: reply.status, cookie };
};

before(async () => {
  server = await startServer(home, await freePort(), process.env, ["--http-port", "0"]);
  httpPort = (await ApiClient.local(home).get<{ httpPort: number }>("/v1/health", 5_000)).httpPort;
});

after(async () => {
  await stopEverything(home, server);
  await cleanup();
});

test(
  "token:rotate: the old token is refused everywhere at once, the new one and the CLI work",
  explained(async () => {
    const old = readFileSync(tokenFile, "utf8").trim();
    const session = await signIn(old);
    assert.equal(session.status, 303);
    assert.ok(session.cookie !== undefined);
    const cookieHeaders = { cookie: session.cookie as string };
    assert.equal((await call({ path: "/api/v1/apps", headers: cookieHeaders })).status, 200);
    // A live stream opened with that session, which the rotation must end too.
    const streamEnded = new Promise<void>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: httpPort, path: "/events", headers: cookieHeaders }, (res) => {
        assert.equal(res.statusCode, 200);
        res.resume();
        res.on("end", () => resolve());
        res.on("close", () => resolve());
      });
      req.on("error", reject);
      req.end();
    });

    const rotated = await baton(["token:rotate", "--json"]);
    assert.equal(rotated.code, 0, rotated.stdout + rotated.stderr);
    const fresh = readFileSync(tokenFile, "utf8").trim();
    assert.notEqual(fresh, old);
    assert.match(fresh, /^[0-9a-f]{64}$/);
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);

    assert.equal((await apiWith(old)).status, 401, "API, old token");
    assert.equal((await apiWith(fresh)).status, 200, "API, new token");
    assert.equal((await metricsWith(old)).status, 401, "/metrics, old token");
    assert.equal((await metricsWith(fresh)).status, 200, "/metrics, new token");
    assert.equal((await signIn(old)).status, 401, "dashboard sign-in, old token");
    assert.equal((await call({ path: "/api/v1/apps", headers: cookieHeaders })).status, 401, "a session from before");
    assert.equal((await signIn(fresh)).status, 303, "dashboard sign-in, new token");
    assert.equal((await baton(["apps", "--json"])).code, 0, "the CLI reads the new token");
    assert.ok(await settledWithin(streamEnded, 10_000), "the live stream of a session from before was ended");
  }),
);
