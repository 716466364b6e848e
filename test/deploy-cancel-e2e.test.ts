// `baton deploy:cancel` through the real CLI and server: a queued deploy never runs; a running one
// stops before its next step with nothing changed for users; one already live is rolled back.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { waitFor } from "../src/core/wait.js";
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
let server: ServerProc | undefined;
let serial = 0;
const baton = (args: string[], timeoutMs = 60_000) => runCli(home, args, timeoutMs);

/** The fixture app answering `version` = label; `behaviour` and app.json changes as given. */
const variant = (label: string, behaviour: Record<string, unknown> = {}, appJson: Record<string, unknown> = {}) =>
  fixtureApp(join(work, `app-${++serial}`), label, behaviour, appJson);

const deploy = async (dir: string) => parseJson<DeployJson>(await baton(["deploy", dir, "--app", "shop", "--json"]));
const served = async () =>
  (
    JSON.parse((await http(server?.router.port ?? 0, "/", { headers: { host: "shop.localhost" } })).body) as {
      version: string;
    }
  ).version;
const phase = async () =>
  parseJson<{ deploy: { id: number; phase?: string } | null }>(await baton(["status", "--app", "shop", "--json"]))
    .deploy;

before(async () => {
  server = await startServer(home, await freePort());
  assert.equal((await deploy(variant("v1"))).status, "succeeded");
});

after(async () => {
  await stopEverything(home, server);
  await cleanup();
});

/** The app's deploys, newest first, as `baton deploys --json` lists them. */
const deploys = async () =>
  parseJson<Array<{ id: number; status: string }>>(await baton(["deploys", "--app", "shop", "--json"]));

test(
  "a queued deploy is cancelled and never runs; the running one goes on",
  explained(async () => {
    const first = deploy(variant("slow", { bootDelayMs: 2_500 }));
    await waitFor("the first deploy to run", async () => ((await phase()) !== null ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    const second = deploy(variant("never"));
    const waiting = await waitFor(
      "the second deploy to queue",
      async () => (await deploys()).find((d) => d.status === "queued"),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const cancel = await baton(["deploy:cancel", "--app", "shop", String(waiting.id), "--json"]);
    assert.equal(cancel.code, 0, cancel.stdout + cancel.stderr);
    const cancelled = await second;
    assert.equal(cancelled.status, "cancelled");
    assert.equal(cancelled.error?.code, "BATON_DEPLOY_CANCELLED");
    assert.equal((await first).status, "succeeded");
    assert.equal(await served(), "slow");
  }),
);

test(
  "a running deploy cancelled before its switch stops there; nothing changed for users",
  explained(async () => {
    const running = deploy(variant("late", { bootDelayMs: 4_000 }));
    await waitFor("the boot step", async () => ((await phase())?.phase === "boot" ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    const cancel = await baton(["deploy:cancel", "--app", "shop"]);
    assert.equal(cancel.code, 0, cancel.stdout + cancel.stderr);
    const result = await running;
    assert.equal(result.status, "cancelled");
    assert.match(result.error?.message ?? "", /before its warmup step/);
    assert.equal(await served(), "slow", "the old release still serves");
    const ps = parseJson<{ instances: Array<{ version: number }> } | Array<{ version: number }>>(
      await baton(["ps", "--app", "shop", "--json"]),
    );
    const list = Array.isArray(ps) ? ps : ps.instances;
    assert.ok(
      list.every((i) => i.version !== result.version),
      "no instance of the cancelled release is left",
    );
  }),
);

test(
  "a deploy cancelled after its switch, with nothing on standby, is rolled back",
  explained(async () => {
    // postdeploy keeps the deploy running after its switch (bakeMs is 0 in the fixture).
    const live = deploy(variant("switched", {}, { scripts: { postdeploy: "sleep 4" } }));
    await waitFor("the postdeploy step", async () => ((await phase())?.phase === "postdeploy" ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    assert.equal(await served(), "switched");
    const cancel = await baton(["deploy:cancel", "--app", "shop", "--json"], 90_000);
    assert.equal(cancel.code, 0, cancel.stdout + cancel.stderr);
    const rollback = parseJson<DeployJson>(cancel);
    assert.equal(rollback.kind, "rollback");
    assert.equal(rollback.status, "succeeded");
    assert.equal((await live).status, "succeeded");
    assert.equal(await served(), "slow", "the release before it serves again");
  }),
);

test(
  "the audit log says who asked for each change, and never a config value",
  explained(async () => {
    assert.equal((await baton(["config:set", "--app", "shop", "API_KEY=never-in-the-audit-log"])).code, 0);
    const audit = parseJson<Array<{ app: string; message: string; data: { actor: string; action: string } }>>(
      await baton(["audit", "--app", "shop", "--json"]),
    );
    const actions = audit.map((e) => e.data.action);
    for (const action of [
      "POST /v1/apps/shop/deploys",
      "POST /v1/apps/shop/deploy/cancel",
      "PATCH /v1/apps/shop/config",
    ])
      assert.ok(actions.includes(action), `${action} is not in the audit log: ${actions.join(", ")}`);
    assert.ok(
      audit.every((e) => /^\S+@\S+$/.test(e.data.actor)),
      "each entry names user@host",
    );
    assert.ok(!JSON.stringify(audit).includes("never-in-the-audit-log"));
    assert.equal(audit.filter((e) => e.app !== "shop").length, 0);
  }),
);
