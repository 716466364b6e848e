// The router's HTTPS port: certificates chosen by SNI from a directory of pairs, requests of every
// kind over TLS (keep-alive, bodies, WebSocket, SSE), the per-app redirect from plain HTTP, and
// certificate reloads that drop nothing. Certificates are made here with the openssl CLI.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { request as httpsRequestRaw } from "node:https";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect, type PeerCertificate } from "node:tls";
import { WebSocket } from "ws";
import { waitFor } from "../src/core/wait.js";
import { LoadRun } from "../src/load/load.js";
import { freePort } from "../src/supervisor/ports.js";
import { cleanup, http, pool, type RouterProc, startRouter, startUpstream, tmpHome, type Upstream } from "./helpers.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A self-signed certificate for `hosts` (the first is its CN), written as certFile/keyFile. */
function makeCert(certFile: string, keyFile: string, hosts: string[]): string {
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "2",
      "-subj",
      `/CN=${hosts[0]}`,
      "-addext",
      `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(",")}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return readFileSync(certFile, "utf8");
}

interface Handshake {
  cn: string;
  fingerprint: string;
  protocol: string | null;
  alpn: string | false | null;
}

/** One TLS handshake with `servername` (none when empty); what the router presented. */
function handshake(port: number, servername: string, extra: Record<string, unknown> = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: "127.0.0.1",
      port,
      ...(servername === "" ? {} : { servername }),
      ALPNProtocols: ["http/1.1"],
      rejectUnauthorized: false,
      ...extra,
    });
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate() as PeerCertificate;
      resolve({
        cn: String(cert.subject?.CN),
        fingerprint: cert.fingerprint256,
        protocol: socket.getProtocol(),
        alpn: socket.alpnProtocol,
      });
      socket.end();
    });
    socket.once("error", reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error("handshake timeout")));
  });
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function https(
  port: number,
  host: string,
  ca: string[],
  path: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequestRaw(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        servername: host,
        ca,
        headers: { host, ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error("test client timeout")));
    req.on("error", reject);
    req.end(options.body);
  });
}

/** The instance's view of a request's headers (the upstream fixture's /headers). */
function seenHeaders(reply: Reply): Map<string, string[]> {
  const raw = (JSON.parse(reply.body) as { rawHeaders: string[] }).rawHeaders;
  const seen = new Map<string, string[]>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    seen.set(name, [...(seen.get(name) ?? []), raw[i + 1] as string]);
  }
  return seen;
}

describe("router: HTTPS", () => {
  let dir: string;
  let tlsDir: string;
  let router: RouterProc;
  let httpsPort: number;
  let upstream: Upstream;
  /** Every certificate made so far: the clients trust them all (they are self-signed). */
  const ca: string[] = [];

  before(async () => {
    execFileSync("openssl", ["version"]);
    dir = tmpHome();
    tlsDir = join(dir, "tls");
    mkdirSync(join(tlsDir, "blog"), { recursive: true });
    // The three layouts: NAME.crt/NAME.key, certbot's NAME/fullchain.pem + privkey.pem, the default.
    ca.push(makeCert(join(tlsDir, "shop.crt"), join(tlsDir, "shop.key"), ["shop.test", "www.shop.test"]));
    ca.push(makeCert(join(tlsDir, "blog", "fullchain.pem"), join(tlsDir, "blog", "privkey.pem"), ["*.blog.test"]));
    ca.push(makeCert(join(tlsDir, "default.crt"), join(tlsDir, "default.key"), ["default.test", "secure.test"]));
    writeFileSync(join(tlsDir, "README"), "not a certificate: ignored\n");
    router = await startRouter({ args: ["--https-port", "0", "--tls-dir", tlsDir] });
    const health = await router.client.health();
    assert.equal(typeof health.httpsPort, "number");
    httpsPort = health.httpsPort as number;
    upstream = await startUpstream("tls-1");
    await router.client.putApp({ name: "shop", domains: ["shop.test", "www.shop.test", "x.blog.test"] });
    await router.client.swap("shop", pool("shop-p", "v1", [upstream]));
    await router.client.putApp({ name: "secure", domains: ["secure.test"], redirectHttps: true, hstsMaxAgeS: 600 });
    await router.client.swap("secure", pool("secure-p", "v1", [upstream]));
  });
  after(cleanup);

  test("SNI picks the certificate that covers the name; the default pair covers the rest", async (t) => {
    const cases: Array<[string, string]> = [
      ["shop.test", "shop.test"],
      ["WWW.shop.test", "shop.test"],
      ["x.blog.test", "*.blog.test"],
      ["eu.blog.test", "*.blog.test"],
      // A wildcard covers one label only.
      ["a.b.blog.test", "default.test"],
      ["unknown.test", "default.test"],
      // No SNI at all (an IP address, an old client).
      ["", "default.test"],
    ];
    for (const [servername, cn] of cases) {
      const seen = await handshake(httpsPort, servername);
      t.diagnostic(`SNI "${servername}" → ${seen.cn} (${seen.protocol}, ALPN ${seen.alpn})`);
      assert.equal(seen.cn, cn, `certificate for "${servername}"`);
      assert.equal(seen.alpn, "http/1.1");
    }
    // TLS 1.1 and older are refused.
    await assert.rejects(handshake(httpsPort, "shop.test", { maxVersion: "TLSv1.1", minVersion: "TLSv1" }));
  });

  test("requests, keep-alive and POST bodies over TLS; the instance sees X-Forwarded-Proto https", async (t) => {
    const reply = await https(httpsPort, "shop.test", ca, "/headers", {
      // A client's own claim is not believed: it is no trusted proxy.
      headers: { "x-forwarded-proto": "http" },
    });
    assert.equal(reply.status, 200);
    const seen = seenHeaders(reply);
    assert.deepEqual(seen.get("x-forwarded-proto"), ["https"]);
    assert.deepEqual(seen.get("x-forwarded-port"), [String(httpsPort)]);
    assert.deepEqual(seen.get("x-forwarded-host"), ["shop.test"]);
    // Plain HTTP on the other port still says http.
    const plain = seenHeaders(await http(router.port, "/headers", { headers: { host: "shop.test" } }));
    assert.deepEqual(plain.get("x-forwarded-proto"), ["http"]);

    const body = "b".repeat(200_000);
    const echoed = await https(httpsPort, "shop.test", ca, "/echo", { method: "POST", body });
    assert.equal(echoed.body, body);

    // Keep-alive: many requests over few TLS connections, each checked against the certificate.
    const load = new LoadRun({
      port: httpsPort,
      hostHeader: "shop.test",
      tls: { ca: ca.join("\n") },
      connections: 4,
      maxDurationMs: 10_000,
      maxRequests: 400,
      requests: [{ path: "/id" }, { method: "POST", path: "/echo", body: "x".repeat(5_000) }],
    }).start();
    await waitFor("400 requests over TLS", async () => (load.samples.length >= 400 ? true : undefined), {
      timeoutMs: 15_000,
      intervalMs: 20,
    });
    const stats = await load.stop();
    t.diagnostic(`${stats.requests} keep-alive requests over TLS, ${stats.failed} failed`);
    assert.equal(stats.failed, 0, JSON.stringify(stats.failures));
    assert.equal(stats.requests, 400);
    const connections = Number((await http(router.port, "/connections", { headers: { host: "shop.test" } })).body);
    assert.ok(connections < 100, `keep-alive reused connections to the instance (${connections} opened)`);
  });

  test("WebSocket (wss) and server-sent events work over TLS", async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${httpsPort}/ws`, undefined, {
      headers: { host: "shop.test" },
      ca,
      // ws hands its options to tls.connect, whose SNI name its typings leave out.
      ...({ servername: "shop.test" } as object),
    });
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on("message", (data) => {
        messages.push(String(data));
        if (messages.length === 1) ws.send("ping");
        if (messages.length === 2) resolve();
      });
      ws.on("error", reject);
    });
    ws.close();
    assert.deepEqual(messages, ["hello from tls-1", "tls-1: ping"]);

    const events = await new Promise<string>((resolve, reject) => {
      const req = httpsRequestRaw(
        {
          host: "127.0.0.1",
          port: httpsPort,
          path: "/sse",
          servername: "shop.test",
          ca,
          headers: { host: "shop.test", accept: "text/event-stream" },
          agent: false,
        },
        (res) => {
          let text = "";
          res.on("data", (c: Buffer) => {
            text += String(c);
            if ((text.match(/^data: /gm) ?? []).length >= 3) {
              req.destroy();
              resolve(text);
            }
          });
        },
      );
      req.setTimeout(10_000, () => req.destroy(new Error("no events")));
      req.on("error", reject);
      req.end();
    });
    assert.match(events, /data: tls-1 event 2/);
  });

  test("an app that asks is redirected from plain HTTP with 308; over TLS it gets HSTS; others are left alone", async () => {
    const get = await http(router.port, "/a/b?c=1&d=2", { headers: { host: "secure.test" } });
    assert.equal(get.status, 308);
    assert.equal(get.headers.location, `https://secure.test:${httpsPort}/a/b?c=1&d=2`);
    // 308 keeps the method: a POST is not turned into a GET.
    const post = await http(router.port, "/form", { method: "POST", headers: { host: "secure.test:80" }, body: "x=1" });
    assert.equal(post.status, 308);
    assert.equal(post.headers.location, `https://secure.test:${httpsPort}/form`);
    // A WebSocket over ws:// is turned away the same way.
    const ws = new WebSocket(`ws://127.0.0.1:${router.port}/ws`, { headers: { host: "secure.test" } });
    const refused = await new Promise<number>((resolve) => {
      ws.on("unexpected-response", (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on("error", () => resolve(-1));
    });
    assert.equal(refused, 308);

    const secure = await https(httpsPort, "secure.test", ca, "/id");
    assert.equal(secure.status, 200);
    assert.equal(secure.body, "tls-1");
    assert.equal(secure.headers["strict-transport-security"], "max-age=600");

    const other = await http(router.port, "/id", { headers: { host: "shop.test" } });
    assert.equal(other.status, 200);
    assert.equal(other.headers["strict-transport-security"], undefined);
    const otherTls = await https(httpsPort, "shop.test", ca, "/id");
    assert.equal(otherTls.headers["strict-transport-security"], undefined);
  });

  test("reload swaps certificates for new connections while a load over TLS runs, and a bad file changes nothing", async (t) => {
    const before = await handshake(httpsPort, "shop.test");
    // Two renewals made ahead, so the clients trust them before the router serves them.
    const renewals = [1, 2].map((n) => {
      const cert = makeCert(join(dir, `new${n}.crt`), join(dir, `new${n}.key`), ["shop.test", "www.shop.test"]);
      ca.push(cert);
      return cert;
    });
    /** Put renewal n in place the way certbot does: new files moved over the old ones. */
    const install = (n: number): string => {
      renameSync(join(dir, `new${n}.key`), join(tlsDir, "shop.key"));
      renameSync(join(dir, `new${n}.crt`), join(tlsDir, "shop.crt"));
      return new X509Certificate(renewals[n - 1] as string).fingerprint256;
    };
    const load = new LoadRun({
      port: httpsPort,
      hostHeader: "shop.test",
      tls: { ca: ca.join("\n") },
      connections: 8,
      maxDurationMs: 20_000,
      maxRequests: 1_000_000,
      requests: [{ path: "/id" }, { method: "POST", path: "/echo", body: "x".repeat(1_000) }],
    }).start();
    // A client that opens a new connection per request crosses every reload too.
    let freshFailed = 0;
    let fresh = 0;
    let stopFresh = false;
    const freshLoop = (async () => {
      while (!stopFresh && fresh < 2_000) {
        fresh++;
        await https(httpsPort, "shop.test", ca, "/id").then(
          (r) => {
            if (r.status !== 200) freshFailed++;
          },
          () => freshFailed++,
        );
      }
    })();
    // A connection opened before the reloads: it keeps its certificate and goes on serving.
    const open = connect({ host: "127.0.0.1", port: httpsPort, servername: "shop.test", ca });
    await new Promise<void>((resolve, reject) => {
      open.once("secureConnect", resolve);
      open.once("error", reject);
    });
    await sleep(500);

    const renewed = install(1);
    const answer = await router.client.tlsReload();
    assert.ok(answer.certificates.some((c) => c.name === "shop" && c.hosts.includes("shop.test")));
    const afterApi = await handshake(httpsPort, "shop.test");
    assert.notEqual(afterApi.fingerprint, before.fingerprint, "new connections get the new certificate");
    assert.equal(afterApi.fingerprint, renewed);
    await sleep(500);

    // SIGHUP does the same (a certbot deploy hook: kill -HUP).
    const wanted = install(2);
    router.proc.kill("SIGHUP");
    await waitFor(
      "the certificate reloaded on SIGHUP",
      async () => ((await handshake(httpsPort, "shop.test")).fingerprint === wanted ? true : undefined),
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    await sleep(500);

    // A broken key: the reload fails naming the file, and the certificate in use stays.
    writeFileSync(join(tlsDir, "shop.key"), "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n");
    await assert.rejects(router.client.tlsReload(), (error: Error & { code?: string }) => {
      assert.equal(error.code, "BATON_TLS_CERT_INVALID");
      assert.match(error.message, /shop\.key/);
      return true;
    });
    assert.equal((await handshake(httpsPort, "shop.test")).fingerprint, wanted, "the old certificate stays in use");
    await sleep(500);

    assert.equal(open.getPeerCertificate().fingerprint256, before.fingerprint, "open connections keep theirs");
    const onOpen = await new Promise<string>((resolve, reject) => {
      let text = "";
      open.on("data", (chunk: Buffer) => {
        text += String(chunk);
        if (text.includes("\r\n\r\n") && text.endsWith("tls-1")) resolve(text);
      });
      open.once("error", reject);
      open.write("GET /id HTTP/1.1\r\nHost: shop.test\r\n\r\n");
    });
    open.destroy();
    assert.match(onOpen, /^HTTP\/1\.1 200 /, "the connection opened before the reloads still serves");

    const stats = await load.stop();
    stopFresh = true;
    await freshLoop;
    t.diagnostic(
      `${stats.requests} keep-alive requests and ${fresh} new-connection requests across 2 reloads and 1 failed reload: ${stats.failed} + ${freshFailed} failed`,
    );
    assert.equal(stats.failed, 0, JSON.stringify(stats.failures));
    assert.equal(freshFailed, 0);
    assert.ok(stats.requests > 100, `too few requests to prove anything: ${stats.requests}`);
  });
});

describe("router: HTTPS configuration errors and a TLS terminator in front", () => {
  after(cleanup);

  test("a bad certificate file stops the router at start, naming the file and the code", async (t) => {
    const dir = tmpHome();
    const tlsDir = join(dir, "tls");
    mkdirSync(tlsDir);
    makeCert(join(tlsDir, "shop.crt"), join(tlsDir, "shop.key"), ["shop.test"]);
    writeFileSync(join(tlsDir, "bad.crt"), "this is not PEM\n");
    makeCert(join(dir, "x.crt"), join(tlsDir, "bad.key"), ["bad.test"]);
    const error = await startRouter({ args: ["--https-port", "0", "--tls-dir", tlsDir] }).then(
      () => undefined,
      (e: Error) => e,
    );
    t.diagnostic(String(error?.message).split("\n")[0] ?? "");
    assert.ok(error !== undefined, "the router refused to start");
    assert.match(error.message, /BATON_TLS_CERT_INVALID/);
    assert.match(error.message, /bad\.crt/);

    // A key that is not the certificate's own.
    writeFileSync(join(tlsDir, "bad.crt"), readFileSync(join(dir, "x.crt")));
    writeFileSync(join(tlsDir, "bad.key"), readFileSync(join(tlsDir, "shop.key")));
    const mismatch = await startRouter({ args: ["--https-port", "0", "--tls-dir", tlsDir] }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(mismatch !== undefined);
    assert.match(mismatch.message, /BATON_TLS_CERT_INVALID/);
    assert.match(mismatch.message, /bad\.key/);

    // A certificate without its key, and --https-port without --tls-dir.
    renameSync(join(tlsDir, "bad.key"), join(dir, "gone.key"));
    const lonely = await startRouter({ args: ["--https-port", "0", "--tls-dir", tlsDir] }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.match(String(lonely?.message), /bad\.crt has no bad\.key/);
    const noDir = await startRouter({ args: ["--https-port", "0"] }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.match(String(noDir?.message), /httpsPort and tlsDir go together/);
  });

  test("a taken HTTPS port stops the router at start, with or without workers: it exits, names the port, and lets go of the HTTP port", async (t) => {
    const dir = tmpHome();
    const tlsDir = join(dir, "tls");
    mkdirSync(tlsDir);
    makeCert(join(tlsDir, "shop.crt"), join(tlsDir, "shop.key"), ["shop.test"]);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    t.after(() => blocker.close());
    const taken = (blocker.address() as AddressInfo).port;
    for (const workers of ["1", "2"]) {
      const port = await freePort();
      const started = Date.now();
      const error = await startRouter({
        port,
        args: ["--https-port", String(taken), "--tls-dir", tlsDir, "--workers", workers],
      }).then(
        () => undefined,
        (e: Error) => e,
      );
      t.diagnostic(`workers ${workers}: ${String(error?.message).split("\n")[0]} (${Date.now() - started} ms)`);
      assert.ok(error !== undefined, "the router refused to start");
      assert.match(error.message, /BATON_PORT_UNAVAILABLE/);
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${taken} \\(--https-port\\) is already in use`));
      // The plain port it had bound before the HTTPS one failed is free again: nothing lingers.
      const again = createServer();
      await new Promise<void>((resolve, reject) => {
        again.once("error", reject);
        again.listen(port, "127.0.0.1", resolve);
      });
      await new Promise((resolve) => again.close(resolve));
    }
  });

  test("a slow client over TLS meets the same headers timeout as over plain HTTP (408, then closed)", async (t) => {
    const dir = tmpHome();
    const tlsDir = join(dir, "tls");
    mkdirSync(tlsDir);
    const ca = makeCert(join(tlsDir, "shop.crt"), join(tlsDir, "shop.key"), ["shop.test"]);
    const router = await startRouter({ args: ["--https-port", "0", "--tls-dir", tlsDir, "--headers-timeout", "1000"] });
    const httpsPort = (await router.client.health()).httpsPort as number;
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port: httpsPort, servername: "shop.test", ca });
      let text = "";
      socket.once("secureConnect", () => socket.write("GET / HTTP/1.1\r\nHost: shop.test\r\nX-Slow: "));
      socket.on("data", (chunk: Buffer) => {
        text += String(chunk);
      });
      socket.once("close", () => resolve(text));
      socket.once("error", reject);
      socket.setTimeout(15_000, () => socket.destroy(new Error("the router never closed the slow connection")));
    });
    t.diagnostic(`answered after ${Date.now() - started} ms: ${answer.split("\r\n")[0]}`);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /BATON_ROUTER_CLIENT_TIMEOUT/);
  });

  test("behind a trusted TLS terminator: its X-Forwarded-Proto https is believed, http is redirected to port 443", async () => {
    const router = await startRouter({ args: ["--trusted-proxy", "127.0.0.1"] });
    const upstream = await startUpstream("tls-proxy");
    await router.client.putApp({ name: "secure", domains: ["secure.test"], redirectHttps: true });
    await router.client.swap("secure", pool("sp", "v1", [upstream]));
    const viaTls = await http(router.port, "/id", { headers: { host: "secure.test", "x-forwarded-proto": "https" } });
    assert.equal(viaTls.status, 200);
    assert.equal(viaTls.body, "tls-proxy");
    const viaPlain = await http(router.port, "/p?q", { headers: { host: "secure.test", "x-forwarded-proto": "http" } });
    assert.equal(viaPlain.status, 308);
    assert.equal(viaPlain.headers.location, "https://secure.test/p?q");
    // A Host header that cannot go into a URL is not echoed into a Location.
    const odd = await http(router.port, "/", { headers: { host: "secure.test:80x" } });
    assert.equal(odd.status, 400);
  });
});

describe("router: HTTPS across a restart in place", () => {
  /** Successors are started by the router itself (detached), not by the test: killed here. */
  const successors: number[] = [];
  after(async () => {
    for (const pid of successors) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    await cleanup();
  });

  test("the HTTPS listening socket is handed to the successor: no request over TLS or plain HTTP fails", async (t) => {
    const dir = tmpHome();
    const tlsDir = join(dir, "tls");
    mkdirSync(tlsDir);
    const ca = [makeCert(join(tlsDir, "shop.crt"), join(tlsDir, "shop.key"), ["shop.test"])];
    const router = await startRouter({ args: ["--https-port", "0", "--tls-dir", tlsDir] });
    const first = await router.client.health();
    const httpsPort = first.httpsPort as number;
    const group = await Promise.all([startUpstream("tls-ho-a"), startUpstream("tls-ho-b")]);
    await router.client.putApp({ name: "shop", domains: ["shop.test"] });
    await router.client.swap("shop", pool("ho", "v1", group, "/id"));
    const requests = [
      { path: "/id" },
      { method: "POST", path: "/echo", body: "x".repeat(1_000) },
      { path: "/slow?ms=200" },
    ];
    const overTls = new LoadRun({
      port: httpsPort,
      hostHeader: "shop.test",
      tls: { ca: ca.join("\n") },
      connections: 8,
      maxDurationMs: 20_000,
      maxRequests: 1_000_000,
      requests,
    }).start();
    const plain = new LoadRun({
      port: router.port,
      hostHeader: "shop.test",
      connections: 4,
      maxDurationMs: 20_000,
      maxRequests: 1_000_000,
      requests,
    }).start();
    await sleep(1_000);

    const second = await router.client.handOff();
    successors.push(second.pid);
    assert.notEqual(second.pid, first.pid);
    await waitFor("the old router to exit", async () => (router.proc.exitCode !== null ? true : undefined), {
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    const health = await router.client.health();
    assert.equal(health.pid, second.pid);
    assert.equal(health.httpsPort, httpsPort, "the successor serves HTTPS on the same port");
    await sleep(1_000);

    const tlsStats = await overTls.stop();
    const plainStats = await plain.stop();
    t.diagnostic(
      `across a handoff: ${tlsStats.requests} requests over TLS (${tlsStats.failed} failed), ${plainStats.requests} plain (${plainStats.failed} failed)`,
    );
    assert.equal(tlsStats.failed, 0, JSON.stringify(tlsStats.failures));
    assert.equal(plainStats.failed, 0, JSON.stringify(plainStats.failures));
    assert.ok(tlsStats.requests > 100, `too few requests over TLS: ${tlsStats.requests}`);
    // The successor loaded the certificates itself and reloads them too.
    assert.equal((await handshake(httpsPort, "shop.test")).cn, "shop.test");
    assert.equal((await router.client.tlsReload()).certificates.length, 1);
  });
});
