// HTTPS through the real CLI and server: `baton server --https-port --tls-dir` starts its router
// with the certificates, a deploy whose app.json asks for `baton.https.redirect` turns on the 308
// redirect (and HSTS) from its switch, with a load over TLS running across it, and
// `baton tls:reload` reloads the certificates.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LoadRun } from "../src/load/load.js";
import { RouterClient } from "../src/router/client.js";
import { freePort } from "../src/supervisor/ports.js";
import {
  type DeployJson,
  explained,
  fixtureApp,
  parseJson,
  cli as runCli,
  type ServerProc,
  startServer,
  stopEverything,
} from "./e2e-harness.js";
import { cleanup, http, tmpHome } from "./helpers.js";

const home = tmpHome();
const work = tmpHome();
const tlsDir = join(work, "tls");
let server: ServerProc | undefined;
let httpsPort = 0;
let ca = "";
const baton = (args: string[], timeoutMs = 60_000) => runCli(home, args, timeoutMs);

function httpsGet(path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: httpsPort,
        path,
        servername: "shop.localhost",
        ca,
        headers: { host: "shop.localhost" },
        agent: false,
      },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => {
          body += String(c);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error("test client timeout")));
    req.on("error", reject);
    req.end();
  });
}

before(async () => {
  mkdirSync(tlsDir, { recursive: true });
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", join(tlsDir, "shop.key"), "-out", join(tlsDir, "shop.crt"), "-days", "2"],
      ...["-subj", "/CN=shop.localhost", "-addext", "subjectAltName=DNS:shop.localhost"],
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  ca = readFileSync(join(tlsDir, "shop.crt"), "utf8");
  httpsPort = await freePort();
  server = await startServer(home, await freePort(), process.env, [
    "--https-port",
    String(httpsPort),
    "--tls-dir",
    tlsDir,
  ]);
});

after(async () => {
  await stopEverything(home, server);
  await cleanup();
});

test(
  "baton server serves HTTPS; a deploy turns on the app's redirect at its switch with no failed request over TLS",
  explained(async (t) => {
    const health = await new RouterClient(join(home, "router.sock")).health();
    assert.equal(health.httpsPort, httpsPort, "the router the server started listens on --https-port");

    const v1 = parseJson<DeployJson>(
      await baton(["deploy", fixtureApp(join(work, "v1"), "v1"), "--app", "shop", "--json"]),
    );
    assert.equal(v1.status, "succeeded");
    const port = server?.router.port ?? 0;
    assert.equal((await http(port, "/", { headers: { host: "shop.localhost" } })).status, 200, "no redirect yet");
    assert.equal((await httpsGet("/")).status, 200);

    const load = new LoadRun({
      port: httpsPort,
      hostHeader: "shop.localhost",
      tls: { ca },
      connections: 4,
      maxDurationMs: 120_000,
      maxRequests: 1_000_000,
      requests: [{ path: "/" }, { method: "POST", path: "/echo", body: "x".repeat(500) }],
    }).start();
    const v2dir = fixtureApp(join(work, "v2"), "v2", {}, { baton: { https: { redirect: true, hstsMaxAgeS: 600 } } });
    const v2 = parseJson<DeployJson>(await baton(["deploy", v2dir, "--app", "shop", "--json"], 120_000));
    const stats = await load.stop();
    t.diagnostic(`deploy v2 with a load over TLS: ${stats.requests} requests, ${stats.failed} failed`);
    assert.equal(v2.status, "succeeded");
    assert.equal(stats.failed, 0, JSON.stringify(stats.failures));
    assert.ok(stats.requests > 20, `too few requests to prove anything: ${stats.requests}`);

    const plain = await http(port, "/x?y=1", { headers: { host: "shop.localhost" } });
    assert.equal(plain.status, 308);
    assert.equal(plain.headers.location, `https://shop.localhost:${httpsPort}/x?y=1`);
    const secure = await httpsGet("/");
    assert.equal(secure.status, 200);
    assert.equal(secure.headers["strict-transport-security"], "max-age=600");

    const reloaded = parseJson<{ certificates: Array<{ name: string; hosts: string[] }> }>(
      await baton(["tls:reload", "--json"]),
    );
    assert.deepEqual(
      reloaded.certificates.map((c) => [c.name, c.hosts]),
      [["shop", ["shop.localhost"]]],
    );
  }),
);

test(
  "baton server with an --https-port another process holds fails at once with the router's own reason, leaving nothing running",
  explained(async () => {
    const otherHome = tmpHome();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    try {
      const taken = (blocker.address() as AddressInfo).port;
      const port = await freePort();
      const result = await runCli(
        otherHome,
        [
          "server",
          ...["--port", String(port), "--host", "127.0.0.1", "--allow-root-apps"],
          ...["--https-port", String(taken), "--tls-dir", tlsDir],
        ],
        20_000,
      );
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /error BATON_PORT_UNAVAILABLE: the router could not start: /);
      assert.match(result.stderr, new RegExp(`127\\.0\\.0\\.1:${taken} \\(--https-port\\) is already in use`));
      assert.match(result.stderr, /hint: .*ss -ltnp/);
      // The router it started let go of its plain port: another can take it now.
      const again = createServer();
      await new Promise<void>((resolve, reject) => {
        again.once("error", reject);
        again.listen(port, "127.0.0.1", resolve);
      });
      await new Promise((resolve) => again.close(resolve));
    } finally {
      blocker.close();
    }
  }),
);
