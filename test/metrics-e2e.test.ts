// /metrics end to end: a real `baton server --http-port`, a deployed app, a known set of requests
// through the router; the exposition is parsed as Prometheus would and each count must be what
// was sent. Also `baton top`, which shows the same live numbers in a terminal.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/core/wait.js";
import { freePort } from "../src/supervisor/ports.js";
import {
  cli,
  explained,
  fixtureApp,
  note,
  parseJson,
  type ServerProc,
  startServer,
  stopEverything,
} from "./e2e-harness.js";
import { cleanup, http, tmpHome } from "./helpers.js";
import { parsePrometheus, sampleValue } from "./prom-text.js";

const APP = "shop";

describe("metrics and baton top, end to end", () => {
  const home = tmpHome();
  const work = tmpHome();
  let server: ServerProc | undefined;
  let port = 0;
  let webPort = 0;
  let token = "";

  const scrape = async (headers: Record<string, string> = { authorization: `Bearer ${token}` }) =>
    http(webPort, "/metrics", { headers });

  before(async () => {
    port = await freePort();
    webPort = await freePort();
    server = await startServer(home, port, process.env, ["--http-port", String(webPort)]);
    token = readFileSync(join(home, "token"), "utf8").trim();
    // /boom answers 500: the 5xx the router must count.
    const dir = fixtureApp(join(work, "app"), "v1", { smoke500Path: "/boom" });
    const deployed = await cli(home, ["deploy", dir, "--app", APP, "--json"], 120_000);
    assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
  });

  after(async () => {
    await stopEverything(home, server);
    await cleanup();
  });

  test(
    "the router's counts, the deploy's counters and step durations, parsed from the text format",
    explained(async () => {
      const sent = { ok: 40, notFound: 5, failed: 3 };
      const host = { host: `${APP}.localhost` };
      for (let i = 0; i < sent.ok; i++) assert.equal((await http(port, "/", { headers: host })).status, 200);
      for (let i = 0; i < sent.notFound; i++) assert.equal((await http(port, "/nope", { headers: host })).status, 404);
      for (let i = 0; i < sent.failed; i++) assert.equal((await http(port, "/boom", { headers: host })).status, 500);

      const reply = await scrape();
      assert.equal(reply.status, 200);
      assert.match(String(reply.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
      const metrics = parsePrometheus(reply.body);
      const release = { app: APP, release: "v1" };
      assert.equal(metrics.get("baton_router_requests_total")?.type, "counter");
      assert.equal(sampleValue(metrics, "baton_router_requests_total", { ...release, class: "2xx" }), sent.ok);
      assert.equal(sampleValue(metrics, "baton_router_requests_total", { ...release, class: "4xx" }), sent.notFound);
      assert.equal(sampleValue(metrics, "baton_router_requests_total", { ...release, class: "5xx" }), sent.failed);
      assert.equal(sampleValue(metrics, "baton_router_requests_in_flight", release), 0);
      assert.equal(sampleValue(metrics, "baton_router_retries_total", release), 0);
      assert.equal(sampleValue(metrics, "baton_router_upstream_errors_total", { ...release, kind: "connect" }), 0);
      assert.equal(sampleValue(metrics, "baton_router_held_requests_total", { app: APP }), 0);
      assert.equal(sampleValue(metrics, "baton_router_up"), 1);

      // The latency histogram: every request once, buckets cumulative, +Inf the count.
      const total = sent.ok + sent.notFound + sent.failed;
      const histogram = metrics.get("baton_router_request_duration_seconds");
      assert.equal(histogram?.type, "histogram");
      assert.equal(sampleValue(metrics, "baton_router_request_duration_seconds_count", release), total);
      const buckets = (histogram?.samples ?? []).filter((s) => s.name.endsWith("_bucket") && s.labels.app === APP);
      assert.equal(buckets.at(-1)?.labels.le, "+Inf");
      assert.equal(buckets.at(-1)?.value, total);
      for (let i = 1; i < buckets.length; i++)
        assert.ok((buckets[i]?.value ?? 0) >= (buckets[i - 1]?.value ?? 0), "buckets must be cumulative");
      const sum = sampleValue(metrics, "baton_router_request_duration_seconds_sum", release) ?? -1;
      assert.ok(sum > 0 && sum < total * 5, `sum of latencies ${sum} s`);

      // The control plane's own: one deploy, its steps, no queue, two running web instances.
      assert.equal(sampleValue(metrics, "baton_deploys_total", { app: APP, kind: "deploy", status: "succeeded" }), 1);
      assert.equal(
        sampleValue(metrics, "baton_deploy_step_duration_seconds_count", {
          app: APP,
          step: "boot",
          status: "succeeded",
        }),
        1,
      );
      assert.equal(sampleValue(metrics, "baton_deploy_duration_seconds_count", { app: APP, status: "succeeded" }), 1);
      assert.equal(sampleValue(metrics, "baton_deploy_queue_length", { app: APP }), 0);
      assert.equal(sampleValue(metrics, "baton_app_release_version", { app: APP }), 1);
      assert.equal(sampleValue(metrics, "baton_instances", { app: APP, type: "web", state: "running" }), 2);
      assert.equal(sampleValue(metrics, "baton_instance_restarts_total", { app: APP }) ?? 0, 0);

      // A second scrape sees the requests sent since, and only those.
      for (let i = 0; i < 10; i++) await http(port, "/", { headers: host });
      const again = parsePrometheus((await scrape()).body);
      assert.equal(sampleValue(again, "baton_router_requests_total", { ...release, class: "2xx" }), sent.ok + 10);
    }),
  );

  test(
    "/metrics needs the token: none or a wrong one gets 401 with a Bearer challenge",
    explained(async () => {
      const none = await scrape({});
      assert.equal(none.status, 401);
      assert.match(String(none.headers["www-authenticate"]), /^Bearer/);
      assert.equal(JSON.parse(none.body).error.code, "BATON_UNAUTHORIZED");
      assert.equal((await scrape({ authorization: "Bearer not-the-token" })).status, 401);
      assert.equal(
        (await scrape({ authorization: `Basic ${Buffer.from(`x:${token}`).toString("base64")}` })).status,
        401,
      );
    }),
  );

  test(
    "baton top shows each release's live rate while requests flow",
    explained(async () => {
      const host = { host: `${APP}.localhost` };
      let sending = true;
      const deadline = Date.now() + 20_000;
      // Bounded in time and count: what the sampler's last second must have seen.
      const load = (async () => {
        for (let i = 0; sending && i < 5_000 && Date.now() < deadline; i++) await http(port, "/", { headers: host });
      })();
      try {
        const seen = await waitFor(
          "baton top to show requests for v1",
          async () => {
            const top = await cli(home, ["top", "--once", "--json"], 10_000);
            if (top.code !== 0) throw new Error(top.stderr);
            const view = parseJson<{
              apps: Array<{
                app: string;
                currentVersion: number;
                releases: Array<{ release: string; requests: number; rps: number }>;
              }>;
            }>(top);
            const shop = view.apps.find((a) => a.app === APP);
            const v1 = shop?.releases.find((r) => r.release === "v1");
            return v1 !== undefined && v1.requests > 0 ? { shop, v1 } : undefined;
          },
          { timeoutMs: 15_000, intervalMs: 300 },
        );
        assert.equal(seen.shop?.currentVersion, 1);
        assert.ok(seen.v1.rps > 0);
        const text = await cli(home, ["top", "--once", "--app", APP], 10_000);
        assert.equal(text.code, 0, text.stderr);
        note(text.stdout);
        assert.match(text.stdout, /APP\s+RELEASE\s+SHARE\s+REQ\/S/);
        assert.match(text.stdout, new RegExp(`${APP}\\s+v1`));
        const unknown = await cli(home, ["top", "--once", "--app", "nope"], 10_000);
        assert.equal(unknown.code, 1);
        assert.match(unknown.stderr, /BATON_NOT_FOUND/);
      } finally {
        sending = false;
        await load;
      }
    }),
  );
});
