// An app that floods its log, through the real CLI and server under load: the log is rotated in
// place (bounded disk use), the app keeps writing to it without a hole of zeros, `baton logs` still
// reads it, and no request fails.
import assert from "node:assert/strict";
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { delay } from "../src/core/wait.js";
import { appPaths } from "../src/deploy/paths.js";
import { LoadRun } from "../src/load/load.js";
import { LOG_CHECK_MS } from "../src/supervisor/log-rotation.js";
import { freePort } from "../src/supervisor/ports.js";
import {
  type DeployJson,
  explained,
  fixtureApp,
  type InstanceJson,
  parseJson,
  cli as runCli,
  type ServerProc,
  startServer,
  stopEverything,
} from "./e2e-harness.js";
import { cleanup, tmpHome } from "./helpers.js";

const MAX_MB = 1;
const FLOOD_BYTES_PER_S = 4_000_000;
const home = tmpHome();
const work = tmpHome();
let server: ServerProc | undefined;
const baton = (args: string[], timeoutMs = 60_000) => runCli(home, args, timeoutMs);

before(async () => {
  server = await startServer(home, await freePort(), process.env, ["--log-max-mb", String(MAX_MB)]);
});

after(async () => {
  await stopEverything(home, server);
  await cleanup();
});

test(
  "an app flooding its log: rotated in place with bounded disk use, zero failed requests",
  explained(async (t) => {
    const dir = fixtureApp(
      join(work, "flood"),
      "flood",
      { logFloodBytesPerSec: FLOOD_BYTES_PER_S },
      { formation: { web: { quantity: 1 } } },
    );
    const deployed = parseJson<DeployJson>(await baton(["deploy", dir, "--app", "shop", "--json"]));
    assert.equal(deployed.status, "succeeded");
    const [instance] = parseJson<InstanceJson[]>(await baton(["ps", "--app", "shop", "--json"]));
    assert.ok(instance !== undefined);
    const index = Number(instance.id.slice(instance.id.lastIndexOf(".") + 1));
    const log = appPaths(home, "shop").instanceLog(instance.type, instance.version, index);
    assert.ok(existsSync(log), `the instance logs to ${log}`);

    const load = new LoadRun({
      port: server?.router.port ?? 0,
      hostHeader: "shop.localhost",
      connections: 4,
      maxDurationMs: 30_000,
      maxRequests: 500_000,
      requests: [{ path: "/" }, { method: "POST", path: "/echo", body: "x".repeat(256) }],
    }).start();
    // Sample the log's size while the app floods it: every drop is a rotation.
    let largest = 0;
    let drops = 0;
    let previous = 0;
    for (let i = 0; i < 50; i++) {
      await delay(200);
      const size = existsSync(log) ? statSync(log).size : 0;
      if (size < previous) drops++;
      largest = Math.max(largest, size);
      previous = size;
    }
    const stats = await load.stop();
    const rotatedCopy = `${log}.1`;
    const copySize = existsSync(rotatedCopy) ? statSync(rotatedCopy).size : 0;
    // The limit, plus what the app writes between two checks, plus one check's worth of slack for
    // a slow sweep on a busy machine.
    const bound = MAX_MB * 1024 * 1024 + (FLOOD_BYTES_PER_S * 2 * LOG_CHECK_MS) / 1000;
    t.diagnostic(
      `log: largest ${(largest / 1e6).toFixed(1)} MB, ${drops} rotations seen in 10 s, copy ${(copySize / 1e6).toFixed(1)} MB; bound ${(bound / 1e6).toFixed(1)} MB`,
    );
    t.diagnostic(`load: ${stats.requests} requests, ${stats.failed} failed`);

    assert.ok(drops >= 2, `the log was rotated at least twice (${drops})`);
    assert.ok(largest <= bound, `the log stayed under ${bound} bytes (largest ${largest})`);
    assert.ok(copySize > 0 && copySize <= bound, `one rotated copy, bounded (${copySize})`);
    // The app writes with O_APPEND, so after a truncation its next line lands at the new start of
    // the file, not at its old offset behind a run of zeros.
    const fd = openSync(log, "r");
    const head = Buffer.alloc(16);
    readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    assert.ok(!head.includes(0), "no hole of zeros at the start of the rotated log");
    const tail = (await baton(["logs", "--app", "shop", "-n", "5"])).stdout;
    assert.match(tail, /web flood flood x{20}/, "baton logs still reads what the app writes");
    assert.equal(stats.failed, 0, JSON.stringify(stats.failures));
    assert.ok(stats.requests > 100);
  }),
);
