// Webhook deliveries against a real HTTP receiver on loopback: signed, retried with backoff while
// the receiver fails, not retried when it refuses, every outcome in the event log.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { createLogger } from "../src/core/log.js";
import { waitFor } from "../src/core/wait.js";
import { EventLog } from "../src/deploy/events.js";
import { sign, WebhookDispatcher, type WebhookSpec } from "../src/deploy/webhooks.js";
import { SqliteStore } from "../src/store/sqlite.js";

interface Received {
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

let server: Server;
let port = 0;
const received: Received[] = [];
/** Status to answer per path, in turn; 200 once a path's list is used up. */
const script = new Map<string, number[]>();

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "/";
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(script.get(path)?.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function setup(hooks: WebhookSpec[]) {
  const store = SqliteStore.open(":memory:");
  const events = new EventLog(store);
  const dispatcher = new WebhookDispatcher(
    events,
    (app) => hooks.filter((h) => h.app === app),
    createLogger("test", "silent"),
    {
      maxAttempts: 3,
      firstRetryMs: 20,
      timeoutMs: 2_000,
    },
  );
  dispatcher.start();
  const log = () => store.listEvents({}).filter((e) => e.kind.startsWith("webhook."));
  return { events, dispatcher, log };
}

const hook = (id: number, path: string, format: WebhookSpec["format"] = "json"): WebhookSpec => ({
  id,
  app: "shop",
  url: `http://127.0.0.1:${port}${path}`,
  secret: "s3cret",
  format,
});

test("a deploy event arrives signed; a receiver failing twice gets it on the third attempt", async () => {
  script.set("/flaky", [503, 503]);
  const { events, dispatcher, log } = setup([hook(1, "/flaky")]);
  events.emit("shop", 7, "deploy.succeeded", "v3 is live", { status: "succeeded" });
  const delivered = await waitFor("the delivery", () => log().find((e) => e.kind === "webhook.delivered"), {
    timeoutMs: 5_000,
  });
  dispatcher.stop();
  assert.equal(delivered.data.attempts, 3);
  const attempts = received.filter((r) => r.path === "/flaky");
  assert.equal(attempts.length, 3);
  const last = attempts[2] as Received;
  assert.equal(last.headers["x-baton-event"], "deploy.succeeded");
  const timestamp = String(last.headers["x-baton-timestamp"]);
  assert.equal(last.headers["x-baton-signature"], `sha256=${sign("s3cret", timestamp, last.body)}`);
  assert.equal(new Set(attempts.map((a) => a.headers["x-baton-delivery"])).size, 1, "one delivery id for all attempts");
  const payload = JSON.parse(last.body) as Record<string, unknown>;
  assert.deepEqual(
    [payload.event, payload.app, payload.deploy, payload.message],
    ["deploy.succeeded", "shop", 7, "v3 is live"],
  );
});

test("a receiver that refuses (4xx) is not retried; the failure is in the delivery log", async () => {
  script.set("/refuses", [400]);
  const { events, dispatcher, log } = setup([hook(2, "/refuses")]);
  events.emit("shop", 8, "deploy.failed", "deploy of v4 failed: boom", {});
  const failed = await waitFor("the failure", () => log().find((e) => e.kind === "webhook.failed"), {
    timeoutMs: 5_000,
  });
  dispatcher.stop();
  assert.equal(failed.data.attempts, 1);
  assert.equal(failed.data.error, "HTTP 400");
  assert.equal(received.filter((r) => r.path === "/refuses").length, 1);
});

test("slack format, only deploy events, and a receiver that never answers well gives up after the attempts", async () => {
  script.set("/down", [500, 500, 500, 500]);
  const { events, dispatcher, log } = setup([hook(3, "/slack", "slack"), hook(4, "/down")]);
  events.emit("shop", 9, "instance.crashed", "shop.web.v3.1 exited", {});
  events.emit("shop", 9, "deploy.rolled_back", "deploy of v5 rolled back: 5xx rate 30%", {});
  await waitFor("both outcomes", () => (log().length >= 2 ? true : undefined), { timeoutMs: 5_000 });
  dispatcher.stop();
  const slack = received.filter((r) => r.path === "/slack");
  assert.equal(slack.length, 1, "instance events are not sent");
  assert.match(
    (JSON.parse(slack[0]?.body ?? "{}") as { text: string }).text,
    /:x: \*shop\* \(deploy 9\): deploy of v5 rolled back/,
  );
  const down = log().find((e) => e.kind === "webhook.failed");
  assert.equal(down?.data.attempts, 3);
  assert.equal(received.filter((r) => r.path === "/down").length, 3);
  // The delivery log itself is never sent anywhere.
  assert.ok(received.every((r) => !String(r.headers["x-baton-event"]).startsWith("webhook.")));
});
