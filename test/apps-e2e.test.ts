// End to end through the real CLI and the real server: what is done to an app around its deploys.
// Maintenance mode (through deploys and restarts), the deploy lock, the deploy list, destroying an
// app and its domains, on two apps deployed from copies of test/fixtures/apps/web. The tests run in
// order and share the server: "shop" is the first app (the default one), "blog" the second.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/core/wait.js";
import { freePort } from "../src/supervisor/ports.js";
import {
  children,
  type DeployJson,
  explained,
  fixtureApp,
  type InstanceJson,
  killGroup,
  note,
  parseJson,
  cli as runCli,
  type ServerProc,
  startServer,
} from "./e2e-harness.js";
import { cleanup, http, type Reply, tmpHome } from "./helpers.js";

const DEPLOY_TIMEOUT_MS = 60_000;
const COMMAND_TIMEOUT_MS = 20_000;
/** Text only the custom maintenance page has. */
const PAGE_TEXT = "The shop is closed for stocktaking, back at noon";

interface MaintenanceJson {
  app: string;
  enabled: boolean;
  retryAfterS?: number;
  page?: string | null;
  by?: string;
}

interface DeployRowJson {
  id: number;
  kind: string;
  status: string;
  version: number | null;
  fromVersion: number | null;
  startedAt: number | null;
  durationMs: number | null;
  by: string | null;
  source: string;
  supersededBy: number | null;
}

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

describe("apps end to end: maintenance, lock, deploys, destroy and domains", () => {
  const home = tmpHome();
  const work = tmpHome();
  const pidDir = join(work, "pids");
  let port = 0;
  let server: ServerProc | undefined;
  let routerPid: number | undefined;
  let serial = 0;

  const baton = (args: string[], timeoutMs = COMMAND_TIMEOUT_MS) => runCli(home, args, timeoutMs);

  /** A fresh copy of the fixture answering GET / with `label` as its version. */
  const variant = (label: string, behaviour: Record<string, unknown> = {}): string => {
    return fixtureApp(join(work, `app-${++serial}-${label}`), label, { ...behaviour, pidDir });
  };

  /** Every process the fixture ever started whose label starts with `prefix`. */
  const pidsOf = (prefix: string): number[] =>
    existsSync(pidDir)
      ? readdirSync(pidDir)
          .map((f) => JSON.parse(readFileSync(join(pidDir, f), "utf8")) as { pid: number; version: string })
          .filter((p) => p.version.startsWith(prefix))
          .map((p) => p.pid)
      : [];

  const deploy = async (app: string, label: string, behaviour: Record<string, unknown> = {}) => {
    const result = await baton(["deploy", variant(label, behaviour), "--app", app, "--json"], DEPLOY_TIMEOUT_MS);
    return { result, json: parseJson<DeployJson>(result) };
  };

  const deployed = async (app: string, label: string): Promise<DeployJson> => {
    const d = await deploy(app, label);
    assert.equal(d.result.code, 0, `deploy ${label} of ${app}: ${d.result.stderr}`);
    assert.equal(d.json.status, "succeeded", JSON.stringify(d.json.error));
    return d.json;
  };

  const get = (host: string, path = "/"): Promise<Reply> => http(port, path, { headers: { host } });

  const servedBy = async (host: string): Promise<string> => {
    const reply = await get(host);
    assert.equal(reply.status, 200, `GET / with Host ${host}: ${reply.status} ${reply.body.slice(0, 300)}`);
    return (JSON.parse(reply.body) as { version: string }).version;
  };

  const ok = async (args: string[], timeoutMs?: number) => {
    const result = await baton(args, timeoutMs);
    assert.equal(result.code, 0, `baton ${args.join(" ")}: exit ${result.code}\n${result.stderr}`);
    return result;
  };

  const maintenance = async (app: string): Promise<MaintenanceJson> =>
    parseJson<MaintenanceJson>(await ok(["maintenance", "--app", app, "--json"]));

  const deploys = async (app: string): Promise<DeployRowJson[]> =>
    parseJson<DeployRowJson[]>(await ok(["deploys", "--app", app, "--json"]));

  const ps = async (app: string): Promise<InstanceJson[]> => {
    const value = parseJson<unknown>(await ok(["ps", "--app", app, "--json"]));
    return (Array.isArray(value) ? value : (value as { instances: InstanceJson[] }).instances) as InstanceJson[];
  };

  const start = async (): Promise<void> => {
    server = await startServer(home, port);
    routerPid = server.router.pid;
  };

  const killServer = async (): Promise<void> => {
    assert.ok(server !== undefined);
    server.proc.kill("SIGKILL");
    await server.exited;
    server = undefined;
  };

  before(async () => {
    port = await freePort();
    await start();
  });

  after(async () => {
    if (server !== undefined) {
      const down = await baton(["shutdown"], 30_000);
      if (down.code !== 0) note(`shutdown failed: ${down.stderr}`);
    }
    for (const pid of pidsOf("")) killGroup(pid);
    if (routerPid !== undefined) killGroup(routerPid);
    for (const child of children) child.kill("SIGKILL");
    await cleanup();
  });

  test(
    "maintenance: 503 with Retry-After and the custom page; a deploy succeeds and leaves it on; it survives restarts",
    explained(async () => {
      await deployed("shop", "shop-v1");
      await deployed("blog", "blog-v1");
      assert.equal(await servedBy("shop.localhost"), "shop-v1");
      assert.equal((await maintenance("shop")).enabled, false);

      const page = join(work, "closed.html");
      writeFileSync(page, `<!doctype html><html><body><h1>Closed</h1><p>${PAGE_TEXT}</p></body></html>\n`);
      await ok(["maintenance:on", "--app", "shop", "--page", page, "--retry-after", "120"]);
      const assertDown = async (when: string): Promise<void> => {
        const reply = await get("shop.localhost");
        assert.equal(reply.status, 503, `${when}: ${reply.status} ${reply.body.slice(0, 200)}`);
        assert.equal(reply.headers["retry-after"], "120", when);
        assert.equal(reply.headers["x-baton-error"], "BATON_ROUTER_MAINTENANCE", when);
        assert.ok(reply.body.includes(PAGE_TEXT), `${when}: not the custom page: ${reply.body.slice(0, 200)}`);
      };
      await assertDown("maintenance on");
      assert.equal(await servedBy("blog.localhost"), "blog-v1", "another app is not in maintenance");
      const shown = await maintenance("shop");
      assert.equal(shown.enabled, true);
      assert.equal(shown.retryAfterS, 120);
      assert.equal(shown.page, "closed.html");
      assert.ok(typeof shown.by === "string" && shown.by !== "");

      // Readiness, warm-up and smoke go straight to the instances: a deploy works behind maintenance.
      const v2 = await deployed("shop", "shop-v2");
      await assertDown("after a deploy");
      const instances = (await ps("shop")).filter((i) => i.version === v2.version && i.state === "running");
      assert.equal(instances.length, 2, JSON.stringify(instances));
      for (const i of instances) {
        const direct = await http(i.port ?? 0, "/");
        assert.equal((JSON.parse(direct.body) as { version: string }).version, "shop-v2", "the new release runs");
      }
      const status = parseJson<{ maintenance: unknown; currentVersion: number }>(
        await ok(["status", "--app", "shop", "--json"]),
      );
      assert.equal(status.currentVersion, v2.version);
      assert.notEqual(status.maintenance, null);

      // The control plane dies and comes back: the router kept it, the store still says so.
      await killServer();
      await start();
      await assertDown("after a server restart");
      assert.equal((await maintenance("shop")).enabled, true);

      // The router loses its state too: the restarted server puts maintenance back from the store.
      await killServer();
      assert.ok(routerPid !== undefined);
      killGroup(routerPid);
      const oldRouter = routerPid;
      await waitFor("the router to die", () => (alive(oldRouter) ? undefined : true), { timeoutMs: 5_000 });
      rmSync(join(home, "router-table.json"), { force: true });
      await start();
      assert.notEqual(routerPid, oldRouter, "a new router");
      await assertDown("after a router restart without its snapshot");
      assert.equal(await servedBy("blog.localhost"), "blog-v1");

      await ok(["maintenance:off", "--app", "shop"]);
      assert.equal(await servedBy("shop.localhost"), "shop-v2");
      assert.equal((await maintenance("shop")).enabled, false);
    }),
  );

  test(
    "lock: deploys, rollbacks and config changes are refused with BATON_APP_LOCKED and the reason; unlock accepts them",
    explained(async () => {
      const reason = "release freeze during the audit";
      await ok(["apps:lock", "--app", "shop", "--reason", reason]);
      const before = (await deploys("shop")).length;

      const refused = [
        await baton(["deploy", variant("shop-locked"), "--app", "shop", "--json"], DEPLOY_TIMEOUT_MS),
        await baton(["rollback", "--app", "shop", "--json"]),
        await baton(["config:set", "--app", "shop", "COLOR=red", "--json"]),
      ];
      for (const result of refused) {
        assert.equal(result.code, 1, `baton ${result.args.join(" ")}: ${result.stdout}${result.stderr}`);
        assert.match(result.stderr, /BATON_APP_LOCKED/);
        assert.ok(result.stderr.includes(reason), `the reason is named: ${result.stderr}`);
        assert.match(result.stderr, /locked by \S+ since \d{4}-\d\d-\d\dT/, "who and when");
        assert.match(result.stderr, /apps:unlock --app shop/, "the next command");
      }
      assert.equal((await deploys("shop")).length, before, "nothing was queued");
      assert.equal(await servedBy("shop.localhost"), "shop-v2", "the live release is untouched");

      const status = parseJson<{ lock: { reason: string; by: string; at: number } | null }>(
        await ok(["status", "--app", "shop", "--json"]),
      );
      assert.equal(status.lock?.reason, reason);
      assert.ok((status.lock?.at ?? 0) > 0);
      assert.match((await ok(["status", "--app", "shop"])).stdout, /locked:.*release freeze during the audit/);

      await ok(["apps:unlock", "--app", "shop"]);
      await deployed("shop", "shop-v3");
      assert.equal(await servedBy("shop.localhost"), "shop-v3");
      assert.equal(parseJson<{ lock: unknown }>(await ok(["status", "--app", "shop", "--json"])).lock, null);
    }),
  );

  test(
    "deploys: newest first, with kinds, statuses, versions, durations, sources and superseded-by",
    explained(async () => {
      // One slow deploy runs while two more arrive: the older waiting one is superseded.
      const slow = baton(
        ["deploy", variant("shop-slow", { bootDelayMs: 3_000 }), "--app", "shop", "--json"],
        DEPLOY_TIMEOUT_MS,
      );
      const running = await waitFor(
        "the slow deploy to run",
        async () => (await deploys("shop")).find((d) => d.status === "running"),
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      const waiting = baton(["deploy", variant("shop-waiting"), "--app", "shop", "--json"], DEPLOY_TIMEOUT_MS);
      const queued = await waitFor(
        "the second deploy to wait",
        async () => (await deploys("shop")).find((d) => d.status === "queued"),
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      const newest = await deploy("shop", "shop-v4");
      const [slowResult, waitingResult] = await Promise.all([slow, waiting]);
      assert.equal(slowResult.code, 0, slowResult.stderr);
      assert.equal(waitingResult.code, 1, "a superseded deploy did not go live");
      assert.equal(newest.result.code, 0, newest.result.stderr);
      const setting = await ok(
        ["config:set", "--app", "shop", "SECRET_TOKEN=do-not-print-me", "--json"],
        DEPLOY_TIMEOUT_MS,
      );
      // The config change's own JSON (the API's deploy view) names the key, never the value.
      assert.ok(!setting.stdout.includes("do-not-print-me"), setting.stdout);
      assert.match(setting.stdout, /"SECRET_TOKEN": "\(hidden\)"/);

      const listed = await deploys("shop");
      const ids = listed.map((d) => d.id);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => b - a),
        "newest first",
      );
      const [config, latest] = listed;
      assert.equal(config?.kind, "config");
      assert.equal(config?.status, "succeeded");
      assert.match(config?.source ?? "", /config:set SECRET_TOKEN/);
      assert.equal(latest?.id, newest.json.id);
      assert.equal(latest?.status, "succeeded");
      assert.equal(latest?.fromVersion, parseJson<DeployJson>(slowResult).version);
      const superseded = listed.find((d) => d.id === queued.id);
      assert.equal(superseded?.status, "superseded");
      assert.equal(superseded?.supersededBy, newest.json.id);
      assert.equal(listed.find((d) => d.id === running.id)?.status, "succeeded");
      for (const d of listed.filter((x) => x.status === "succeeded")) {
        assert.equal(typeof d.version, "number");
        assert.ok(typeof d.durationMs === "number" && d.durationMs > 0, `deploy ${d.id} has a duration`);
        assert.ok(typeof d.startedAt === "number");
      }
      assert.ok(
        listed.filter((d) => d.kind === "deploy").every((d) => d.source.includes(work)),
        "a deploy names its source directory",
      );
      assert.deepEqual([...new Set(listed.map((d) => d.kind))].sort(), ["config", "deploy"]);
      const text = await ok(["deploys", "--app", "shop"]);
      assert.match(text.stdout, new RegExp(`superseded by ${newest.json.id}`));
      assert.ok(!`${text.stdout}${JSON.stringify(listed)}`.includes("do-not-print-me"), "config values stay out");
      // `baton config` shows a value's length, not the value; --reveal and config:get are asked for.
      const shown = await ok(["config", "--app", "shop"]);
      assert.match(shown.stdout, /SECRET_TOKEN: +\(hidden, 15 characters\)/);
      assert.ok(!shown.stdout.includes("do-not-print-me"), shown.stdout);
      assert.ok(!(await ok(["config", "--app", "shop", "--json"])).stdout.includes("do-not-print-me"));
      assert.match((await ok(["config", "--app", "shop", "--reveal"])).stdout, /SECRET_TOKEN: +do-not-print-me/);
      assert.equal((await ok(["config:get", "--app", "shop", "SECRET_TOKEN"])).stdout, "do-not-print-me\n");
      const missing = await baton(["config:get", "--app", "shop", "constructor"]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /BATON_NOT_FOUND/);
    }),
  );

  test(
    "apps:destroy: refused during a deploy and without --confirm; then nothing of the app is left",
    explained(async () => {
      // A domain another app owns is refused (by the store and the router alike).
      const taken = await baton(["domains:add", "--app", "blog", "shop.localhost"]);
      assert.equal(taken.code, 1);
      assert.match(taken.stderr, /already belongs to app "shop"/);

      const unconfirmed = await baton(["apps:destroy", "shop"]);
      assert.equal(unconfirmed.code, 2);
      assert.match(unconfirmed.stderr, /--confirm shop/);

      const slow = baton(
        ["deploy", variant("shop-v5", { bootDelayMs: 3_000 }), "--app", "shop", "--json"],
        DEPLOY_TIMEOUT_MS,
      );
      await waitFor("the deploy to run", async () => (await deploys("shop")).find((d) => d.status === "running"), {
        timeoutMs: 15_000,
        intervalMs: 100,
      });
      const during = await baton(["apps:destroy", "shop", "--confirm", "shop"]);
      assert.equal(during.code, 1);
      assert.match(during.stderr, /BATON_DEPLOY_IN_PROGRESS/);
      assert.equal((await slow).code, 0, "the deploy was not disturbed");
      assert.equal(await servedBy("shop.localhost"), "shop-v5");

      const instances = await ps("shop");
      assert.ok(instances.length >= 2);
      const pids = [...new Set([...instances.map((i) => i.pid), ...pidsOf("shop-")])];
      assert.ok(existsSync(join(home, "apps", "shop")));

      const destroyed = await ok(["apps:destroy", "shop", "--confirm", "shop", "--json"], 180_000);
      const report = parseJson<{ app: string; instancesStopped: string[] }>(destroyed);
      assert.equal(report.app, "shop");
      assert.equal(report.instancesStopped.length, instances.length);

      assert.deepEqual(
        pids.filter(alive),
        [],
        "no process of the app is left (instances of every release it ever ran)",
      );
      const gone = await get("shop.localhost");
      assert.equal(gone.status, 404, "shop was the default app: nothing answers for its host now");
      const apps = parseJson<Array<{ name: string }>>(await ok(["apps", "--json"]));
      assert.deepEqual(
        apps.map((a) => a.name),
        ["blog"],
      );
      assert.equal(existsSync(join(home, "apps", "shop")), false, "its directory is gone");
      const ps404 = await baton(["status", "--app", "shop"]);
      assert.equal(ps404.code, 1);
      assert.match(ps404.stderr, /BATON_NOT_FOUND/);
      assert.equal(await servedBy("blog.localhost"), "blog-v1", "the other app serves on");
    }),
  );

  test(
    "domains: added ones (wildcards too) route at once, removed ones stop, the last one can go",
    explained(async () => {
      // shop is gone, and with it the default app: an unknown Host gets 404.
      assert.equal((await get("www.blog.test")).status, 404);
      await ok(["domains:add", "--app", "blog", "www.blog.test"]);
      await ok(["domains:add", "--app", "blog", "*.blog.example.com"]);
      // The domain of the destroyed app is free again.
      await ok(["domains:add", "--app", "blog", "shop.localhost"]);
      assert.equal(await servedBy("www.blog.test"), "blog-v1");
      assert.equal(await servedBy("eu.blog.example.com"), "blog-v1");
      assert.equal(await servedBy("shop.localhost"), "blog-v1");
      const listed = parseJson<{ domains: string[] }>(await ok(["domains", "--app", "blog", "--json"]));
      assert.deepEqual(listed.domains, ["blog.localhost", "www.blog.test", "*.blog.example.com", "shop.localhost"]);

      const bad = await baton(["domains:add", "--app", "blog", "not a host"]);
      assert.equal(bad.code, 2);

      await ok(["domains:remove", "--app", "blog", "www.blog.test"]);
      assert.equal((await get("www.blog.test")).status, 404);
      assert.equal(await servedBy("eu.blog.example.com"), "blog-v1", "the others stay");
      for (const domain of ["*.blog.example.com", "shop.localhost", "blog.localhost"])
        await ok(["domains:remove", "--app", "blog", domain]);
      for (const host of ["eu.blog.example.com", "shop.localhost", "blog.localhost"])
        assert.equal((await get(host)).status, 404, host);
      assert.deepEqual(parseJson<{ domains: string[] }>(await ok(["domains", "--app", "blog", "--json"])).domains, []);

      // Stored, not only routed: a restarted server keeps them.
      await ok(["domains:add", "--app", "blog", "blog.localhost"]);
      await killServer();
      await start();
      assert.equal(await servedBy("blog.localhost"), "blog-v1");
      assert.equal((await get("www.blog.test")).status, 404);
    }),
  );
});
