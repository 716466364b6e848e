// Webhooks through the real CLI and server: a deploy's events reach a receiver on loopback,
// signed with the secret `webhooks:add` printed; the delivery log shows them; a removed webhook
// hears nothing more.
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { waitFor } from "../src/core/wait.js";
import { sign } from "../src/deploy/webhooks.js";
import { freePort } from "../src/supervisor/ports.js";
import {
  type DeployJson,
  parseJson,
  cli as runCli,
  type ServerProc,
  startServer,
  stopEverything,
} from "./e2e-harness.js";
import { cleanup, tmpHome } from "./helpers.js";

const FIXTURE = fileURLToPath(new URL("../../test/fixtures/apps/web", import.meta.url));
const home = tmpHome();
let server: ServerProc | undefined;
let receiver: Server;
let receiverPort = 0;
const received: Array<{ headers: IncomingMessage["headers"]; body: string }> = [];
const baton = (args: string[], timeoutMs = 60_000) => runCli(home, args, timeoutMs);

before(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverPort = (receiver.address() as AddressInfo).port;
  server = await startServer(home, await freePort());
});

after(async () => {
  await stopEverything(home, server);
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await cleanup();
});

test("a deploy's events reach the webhook, signed; the delivery log lists them; a removed one hears nothing", async () => {
  const dir = join(tmpHome(), "app");
  cpSync(FIXTURE, dir, { recursive: true });
  const first = parseJson<DeployJson>(await baton(["deploy", dir, "--app", "shop", "--json"]));
  assert.equal(first.status, "succeeded");

  const added = await baton(["webhooks:add", "--app", "shop", `http://127.0.0.1:${receiverPort}/hook`, "--json"]);
  assert.equal(added.code, 0, added.stderr);
  const { webhook } = parseJson<{ webhook: { id: number; secret: string } }>(added);
  assert.ok(webhook.secret.length >= 16);

  const second = parseJson<DeployJson>(await baton(["deploy", dir, "--app", "shop", "--json"]));
  assert.equal(second.status, "succeeded");
  await waitFor(
    "the succeeded event at the receiver",
    () => (received.some((r) => r.headers["x-baton-event"] === "deploy.succeeded") ? true : undefined),
    { timeoutMs: 10_000 },
  );
  const kinds = received.map((r) => String(r.headers["x-baton-event"]));
  for (const kind of ["deploy.queued", "deploy.started", "deploy.step.finished", "deploy.succeeded"])
    assert.ok(kinds.includes(kind), `${kind} was not delivered: ${kinds.join(", ")}`);
  for (const r of received) {
    const timestamp = String(r.headers["x-baton-timestamp"]);
    assert.equal(r.headers["x-baton-signature"], `sha256=${sign(webhook.secret, timestamp, r.body)}`);
    assert.equal((JSON.parse(r.body) as { deploy: number }).deploy, second.id);
  }

  const listed = parseJson<{ webhooks: Array<Record<string, unknown>>; deliveries: Array<{ kind: string }> }>(
    await baton(["webhooks", "--app", "shop", "--json"]),
  );
  assert.equal(listed.webhooks.length, 1);
  assert.equal(listed.webhooks[0]?.secret, undefined, "the secret is never listed");
  await waitFor(
    "the delivery log",
    async () => {
      const log = parseJson<{ deliveries: Array<{ kind: string }> }>(
        await baton(["webhooks", "--app", "shop", "--json"]),
      );
      return log.deliveries.length >= received.length ? log : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 200 },
  ).then((log) => assert.ok(log.deliveries.every((d) => d.kind === "webhook.delivered")));

  assert.equal((await baton(["webhooks:remove", "--app", "shop", String(webhook.id)])).code, 0);
  const before = received.length;
  assert.equal(parseJson<DeployJson>(await baton(["deploy", dir, "--app", "shop", "--json"])).status, "succeeded");
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(received.length, before, "a removed webhook got a delivery");
});

test("a receiver that is down during a deploy gets every event once it is back", async () => {
  const port = await freePort(); // nothing listens here yet: connections are refused
  const later: Array<{ headers: IncomingMessage["headers"]; body: string }> = [];
  const added = parseJson<{ webhook: { id: number; secret: string } }>(
    await baton(["webhooks:add", "--app", "shop", `http://127.0.0.1:${port}/late`, "--json"]),
  );
  const dir = join(tmpHome(), "app");
  cpSync(FIXTURE, dir, { recursive: true });
  const deployed = parseJson<DeployJson>(await baton(["deploy", dir, "--app", "shop", "--json"]));
  assert.equal(deployed.status, "succeeded");
  // The receiver comes back after the deploy ended; the retries (about 1, 2, 4, 8, 16 s) find it.
  const late = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      later.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => late.listen(port, "127.0.0.1", resolve));
  try {
    // Each delivery retries on its own jittered schedule: wait for all three, not the first.
    const kinds = ["deploy.queued", "deploy.started", "deploy.succeeded"];
    await waitFor(
      "the deploy's events at the receiver that came back",
      () => (kinds.every((k) => later.some((r) => r.headers["x-baton-event"] === k)) ? true : undefined),
      { timeoutMs: 45_000, intervalMs: 200 },
    ).catch(() => undefined); // the assertions below say which one is missing

    const ofDeploy = later.filter((r) => (JSON.parse(r.body) as { deploy: number }).deploy === deployed.id);
    for (const kind of kinds)
      assert.ok(
        ofDeploy.some((r) => r.headers["x-baton-event"] === kind),
        `${kind} never arrived after the receiver came back`,
      );
    for (const r of ofDeploy)
      assert.equal(
        r.headers["x-baton-signature"],
        `sha256=${sign(added.webhook.secret, String(r.headers["x-baton-timestamp"]), r.body)}`,
      );
    const log = parseJson<{ deliveries: Array<{ data: { webhook: number; attempts: number } }> }>(
      await baton(["webhooks", "--app", "shop", "--json"]),
    );
    assert.ok(
      log.deliveries.some((d) => d.data.webhook === added.webhook.id && d.data.attempts > 1),
      "the delivery log shows the retries",
    );
  } finally {
    await new Promise<void>((resolve) => late.close(() => resolve()));
  }
});
