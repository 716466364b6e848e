// The server's TCP API (`baton server --api-port`): off by default, TLS only when on, the same
// token, and a CLI on "another machine" (another home, no token file of its own) drives it through
// BATON_SERVER, BATON_TOKEN_FILE and BATON_CA.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ApiClient } from "../src/api/client.js";
import { freePort } from "../src/supervisor/ports.js";
import { cli, explained, parseJson, type ServerProc, startServer, stopEverything } from "./e2e-harness.js";
import { cleanup, tmpHome } from "./helpers.js";

const OPENSSL = "/usr/bin/openssl";
// openssl makes the test's throwaway CA and certificate. In CI (Debian images have it) its absence
// is a failure, not a skip.
const skip = existsSync(OPENSSL) || process.env.CI ? false : `no ${OPENSSL} (apt-get install openssl)`;

const home = tmpHome();
/** The remote CLI's own home: empty, no token, no socket. */
const elsewhere = tmpHome();
const certs = tmpHome();
let server: ServerProc | undefined;
let apiPort = 0;

const file = (name: string) => join(certs, name);
/** As startServer does: a root server refuses to run apps as root unless told (accepted when not root). */
const asRoot = ["--allow-root-apps"];
const openssl = (...args: string[]) => execFileSync(OPENSSL, args, { stdio: "pipe" });

/** A private CA and a certificate for 127.0.0.1 signed by it, as a team would make for its server. */
function makeCertificates(): void {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.crt"),
    "-days",
    "2",
    "-subj",
    "/CN=baton test CA",
  );
  openssl("req", ...ec, "-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=127.0.0.1");
  writeFileSync(file("ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
  openssl(
    "x509",
    "-req",
    "-in",
    file("server.csr"),
    "-CA",
    file("ca.crt"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-out",
    file("server.crt"),
    "-days",
    "2",
    "-extfile",
    file("ext.cnf"),
  );
  writeFileSync(file("not-a-cert.pem"), "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");
}

const remoteEnv = (overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BATON_SERVER: `https://127.0.0.1:${apiPort}`,
    BATON_TOKEN_FILE: join(home, "token"),
    BATON_CA: file("ca.crt"),
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
};
const remote = (args: string[], overrides: Record<string, string | undefined> = {}) =>
  cli(elsewhere, args, 30_000, remoteEnv(overrides));

before(async () => {
  if (skip) return;
  makeCertificates();
  server = await startServer(home, await freePort(), process.env, [
    "--api-port",
    String(await freePort()),
    "--api-cert",
    file("server.crt"),
    "--api-key",
    file("server.key"),
  ]);
  apiPort = (await ApiClient.local(home).get<{ apiPort: number }>("/v1/health", 5_000)).apiPort;
});

after(async () => {
  await stopEverything(home, server);
  await cleanup();
});

test(
  "the TCP API is TLS only: --api-port without a certificate, or with a bad one, does not start",
  { skip },
  explained(async () => {
    const bare = await cli(
      tmpHome(),
      ["server", "--port", String(await freePort()), "--api-port", "0", ...asRoot],
      30_000,
    );
    assert.notEqual(bare.code, 0);
    assert.match(bare.stderr, /BATON_USAGE/);
    assert.match(bare.stderr, /TLS only/);
    const bad = await cli(
      tmpHome(),
      [
        "server",
        "--port",
        String(await freePort()),
        "--api-port",
        "0",
        "--api-cert",
        file("not-a-cert.pem"),
        "--api-key",
        file("server.key"),
        ...asRoot,
      ],
      30_000,
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /BATON_CONFIG_INVALID/);
    assert.match(bad.stderr, /not-a-cert\.pem/);
  }),
);

test(
  "a CLI on another machine works through BATON_SERVER over TLS, and the audit log names its address",
  { skip },
  explained(async () => {
    const created = await remote(["apps:create", "remote-shop", "--json"]);
    assert.equal(created.code, 0, created.stderr);
    const apps = parseJson<Array<{ name: string }>>(await remote(["apps", "--json"]));
    assert.ok(
      apps.some((a) => a.name === "remote-shop"),
      JSON.stringify(apps),
    );
    const local = parseJson<Array<{ name: string }>>(await cli(home, ["apps", "--json"], 30_000));
    assert.ok(
      local.some((a) => a.name === "remote-shop"),
      "the same server, seen from its own host",
    );
    const audit = await cli(home, ["audit", "--json"], 30_000);
    assert.match(audit.stdout, /via 127\.0\.0\.1/, audit.stdout);
    // BATON_TOKEN works as well as a token file.
    const token = readFileSync(join(home, "token"), "utf8").trim();
    const withToken = await remote(["apps", "--json"], { BATON_TOKEN_FILE: undefined, BATON_TOKEN: token });
    assert.equal(withToken.code, 0, withToken.stderr);
  }),
);

test(
  "refused: a wrong token (401), a certificate the CLI does not trust, an http:// URL, no token at all",
  { skip },
  explained(async () => {
    const wrong = await remote(["apps"], { BATON_TOKEN_FILE: undefined, BATON_TOKEN: "0".repeat(64) });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /BATON_UNAUTHORIZED/);
    const untrusted = await remote(["apps"], { BATON_CA: undefined });
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.stderr, /BATON_SERVER_UNREACHABLE/);
    assert.match(untrusted.stderr, /certificate/i);
    const plain = await remote(["apps"], { BATON_SERVER: `http://127.0.0.1:${apiPort}` });
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /BATON_USAGE/);
    assert.match(plain.stderr, /https/);
    const tokenless = await remote(["apps"], { BATON_TOKEN_FILE: undefined });
    assert.notEqual(tokenless.code, 0);
    assert.match(tokenless.stderr, /BATON_USAGE/);
    // Plain HTTP to the TLS port gets no API answer.
    const status = await new Promise<number | string>((resolve) => {
      const req = request({ host: "127.0.0.1", port: apiPort, path: "/v1/apps", timeout: 5_000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (error) => resolve((error as NodeJS.ErrnoException).code ?? error.message));
      req.end();
    });
    assert.notEqual(status, 200, "a plaintext request was answered");
  }),
);
